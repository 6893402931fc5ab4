"""Metrics and report helpers against scikit-learn's implementations and hand-computed cases."""

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from scratchnet.report import metrics
from scratchnet.report.pca import pca
from scratchnet.report.plots import worst_mistakes


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    predicted = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, 500))
    predicted[predicted == 3] = 4  # a class never predicted: precision has no denominator
    return y, predicted


def test_confusion_matrix(labels):
    y, predicted = labels
    np.testing.assert_array_equal(metrics.confusion_matrix(y, predicted), sk_confusion(y, predicted, labels=range(10)))


def test_per_class_matches_scikit_learn(labels):
    y, predicted = labels
    ours = metrics.per_class(y, predicted)
    p, r, f, s = precision_recall_fscore_support(y, predicted, labels=range(10), zero_division=0)
    for k in range(10):
        assert ours[str(k)] == pytest.approx(dict(precision=p[k], recall=r[k], f1=f[k], support=s[k]))
    assert ours["3"]["precision"] == 0.0


def test_reliability_and_ece_by_hand():
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 1])  # 0.95 bin: 1 of 2 right; 0.6 bin: 2 of 2 right
    bins, ece = metrics.reliability(y, proba, n_bins=10)
    assert sum(b["count"] for b in bins) == 4
    full = [b for b in bins if b["count"]]
    assert [(b["lower"], b["count"], b["accuracy"]) for b in full] == [
        (pytest.approx(0.5), 2, 1.0),
        (pytest.approx(0.9), 2, 0.5),
    ]
    assert ece == pytest.approx(0.5 * abs(1.0 - 0.6) + 0.5 * abs(0.5 - 0.95))


def test_ece_is_zero_when_confidence_equals_accuracy():
    proba = np.tile([0.75, 0.25], (8, 1))
    y = np.array([0, 0, 0, 1, 0, 0, 0, 1])  # 75% right at 75% confidence
    assert metrics.reliability(y, proba, 15)[1] == pytest.approx(0.0)


def test_pca_matches_scikit_learn_up_to_sign():
    X = np.random.default_rng(0).normal(size=(300, 12)) @ np.random.default_rng(1).normal(size=(12, 12))
    ours, theirs = pca(X), PCA(n_components=2).fit_transform(X)
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), rtol=1e-6, atol=1e-8)

    # The sign rule: each component's largest-magnitude loading is positive, so the
    # projection is one fixed result, not "up to sign".
    components = PCA(n_components=2).fit(X).components_
    components *= np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])[:, None]
    np.testing.assert_allclose(ours, (X - X.mean(axis=0)) @ components.T, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pca(-X), -ours, rtol=1e-6, atol=1e-8)  # the rule flips with the data


def test_worst_mistakes_are_the_most_confident_wrong_predictions():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3], [0.05, 0.95]])
    y = np.array([1, 1, 0, 1, 0])  # wrong: rows 0 (0.9), 2 (0.6), 3 (0.7), 4 (0.95)
    assert worst_mistakes(y, proba, 3).tolist() == [4, 0, 3]
    assert worst_mistakes(y, proba, 10).tolist() == [4, 0, 3, 2]


def test_an_undefined_metric_is_null_with_its_reason_and_json_stays_strict():
    from scratchnet.base.strictjson import dumps

    results = {
        "train": {"accuracy": 1.0, "loss": 0.0},
        "val": {"accuracy": 0.9, "loss": 0.3},
        "test": {"accuracy": 0.9, "loss": 0.3},
    }
    summary = metrics.summary(results, best_epoch=3, model_epoch=3, epochs=5)["model"]
    assert summary["loss_gap"] is None and "training loss is 0" in summary["undefined"]["loss_gap"]
    assert json.loads(dumps(summary))["loss_gap"] is None
    results["train"]["loss"] = 0.1
    kept = metrics.summary(results, 3, 3, 5)["model"]
    assert kept["loss_gap"] == pytest.approx(2.0) and "undefined" not in kept
    with pytest.raises(ValueError):
        dumps({"loss": float("nan")})


def test_weight_change_measures_how_far_training_moved_a_layer():
    from scratchnet.report.plots import weight_change

    initial = np.random.default_rng(0).standard_normal((784, 16)).astype(np.float32)
    assert weight_change(initial, initial) == 0.0
    assert weight_change(2 * initial, initial) == pytest.approx(1.0)
    assert weight_change(np.zeros_like(initial), initial) == pytest.approx(1.0)


def test_nearest_centre_share_tells_clusters_from_a_blob():
    from scratchnet.report.plots import nearest_centre_share

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    angles = 2 * np.pi * labels / 10
    clusters = np.c_[np.cos(angles), np.sin(angles)] * 10 + rng.standard_normal((500, 2)) * 0.1
    assert nearest_centre_share(clusters, labels) == 1.0
    blob = rng.standard_normal((500, 2))
    assert nearest_centre_share(blob, labels) < 0.5
