"""Shapes the params schema accepts, through the stages (Hypothesis): any hidden layer sizes (one
unit included), split fractions, classes present and rows per class, batch sizes. The split stage
either refuses the data with one ``error:`` line, or train and evaluate both succeed and write every
metric and figure (a figure saying what it could not show). Split parts of a single row, which
only hand-made split files hold, are generated too.

The stages run in this process (entry_runs.run_entry) on tiny synthetic digits.
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
from entry_runs import check_stage_contract, digest, run_entry, temporaries
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from tiny_workspace import STAGE_ARGS, synthetic_digits
from yaml_documents import TINY_TEXT

import stages.evaluate
import stages.split
import stages.train
from scratchnet.base.boundary import guarded
from scratchnet.estimator import MLPClassifier
from scratchnet.report.trained import load_trained

FIGURES = ("loss", "accuracy", "confusion", "features", "misclassified", "embedding", "reliability")
STAGES = {"split": stages.split, "train": stages.train, "evaluate": stages.evaluate}


def examples(weight):
    return max(1, round(settings.default.max_examples * weight))


def params_text(hidden, val_fraction, test_fraction, batch_size):
    yaml = YAML()
    doc = yaml.load(TINY_TEXT)
    doc["model"]["hidden_sizes"] = hidden
    doc["split"]["val_fraction"], doc["split"]["test_fraction"] = val_fraction, test_fraction
    doc["train"]["batch_size"], doc["train"]["epochs"] = batch_size, 1
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def run_stage(root, name):
    return run_entry(lambda: guarded(STAGES[name].main), root, [f"stages/{name}.py", *STAGE_ARGS[name]])


def check_trains_and_evaluates(root):
    """train and evaluate exit 0, and evaluate wrote its metrics and every figure."""
    for name in ("train", "evaluate"):
        done = run_stage(root, name)
        check_stage_contract(done, None, None, temporaries(root))
        assert done.code == 0, f"{name} refused a shape the schema and split accepted\n{done.describe()}"
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert 0 <= metrics["model"]["test"]["accuracy"] <= 1
    for figure in FIGURES:
        assert (root / "reports" / "figures" / f"{figure}.png").stat().st_size > 0, figure


HIDDEN = st.lists(st.integers(1, 3), min_size=1, max_size=3)
FRACTIONS = st.sampled_from([0.01, 0.1, 0.2, 0.45, 0.5, 0.9]) | st.floats(0.001, 0.999)


# Counterexamples found: a layer of one unit (PCA of the last hidden layer had no second component).
@example(hidden=[1], val_fraction=0.2, test_fraction=0.2, classes={0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, per_class=8, batch=4)
@example(hidden=[3, 1], val_fraction=0.2, test_fraction=0.2, classes={3, 7}, per_class=12, batch=64)
@settings(max_examples=examples(0.25))
@given(
    hidden=HIDDEN,
    val_fraction=FRACTIONS,
    test_fraction=FRACTIONS,
    classes=st.sets(st.integers(0, 9), min_size=1),
    per_class=st.integers(1, 12),
    batch=st.integers(1, 64),
)
def test_what_params_and_split_accept_trains_and_evaluates(
    hidden, val_fraction, test_fraction, classes, per_class, batch
):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "params.yaml").write_text(params_text(hidden, val_fraction, test_fraction, batch), encoding="utf-8")
        (root / "data" / "raw").mkdir(parents=True)
        X, y = synthetic_digits(per_class)
        keep = np.isin(y, sorted(classes))
        np.savez_compressed(root / "data" / "raw" / "mnist.npz", X=X[keep], y=y[keep])
        done = run_stage(root, "split")
        check_stage_contract(done, {}, digest(root, ["data/split"]), temporaries(root))
        event(f"split exit {done.code}")
        if done.code != 0:
            assert "params.yaml" in done.err or "rows" in done.err, done.describe()
            return
        check_trains_and_evaluates(root)


PART = st.lists(st.integers(0, 9), min_size=1, max_size=4) | st.lists(st.just(3), min_size=1, max_size=4)


@example(hidden=[1], parts=([0], [0], [0]))
@settings(max_examples=examples(0.2))
@given(hidden=HIDDEN, parts=st.tuples(PART, PART, PART))
def test_split_parts_of_a_row_or_a_few_train_and_evaluate(hidden, parts):
    """Hand-made split files (the split stage itself keeps >= 10 rows a part): parts of 1..4 rows."""
    X_all, _ = synthetic_digits(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "params.yaml").write_text(params_text(hidden, 0.2, 0.2, 4), encoding="utf-8")
        (root / "data" / "split").mkdir(parents=True)
        for name, labels in zip(("train", "val", "test"), parts):
            y = np.array(labels, np.uint8)
            np.savez_compressed(root / "data" / "split" / f"{name}.npz", X=X_all[y], y=y)
        check_trains_and_evaluates(root)


def test_a_batch_larger_than_the_training_rows_is_clipped_with_a_note_as_one_batch_of_them(tmp_path):
    """The train stage and the estimator alike: as scikit-learn's MLPClassifier, clipped with a
    warning; the weights are those of a batch of exactly the training rows."""
    root = tmp_path / "w"
    root.mkdir()
    (root / "data" / "split").mkdir(parents=True)
    X, y = synthetic_digits(3)
    for name in ("train", "val", "test"):
        np.savez_compressed(root / "data" / "split" / f"{name}.npz", X=X, y=y)
    weights, notes = [], []
    for batch in (len(X) * 50, len(X)):
        (root / "params.yaml").write_text(params_text([4], 0.2, 0.2, batch), encoding="utf-8")
        done = run_stage(root, "train")
        assert done.code == 0, done.describe()
        notes.append(done.err)
        model, _ = load_trained(str(root / "data" / "model" / "model.npz"))
        weights.append([w.copy() for w in model.params])
    assert f"train.batch_size {len(X) * 50} is more than the {len(X)} training rows: clipped" in notes[0]
    assert "clipped" not in notes[1]
    for clipped, exact in zip(*weights):
        np.testing.assert_array_equal(clipped, exact)

    fitted = []
    for batch in (len(X) * 50, len(X)):
        estimator = MLPClassifier(
            hidden_layer_sizes=(4,), batch_size=batch, max_iter=2, early_stopping=False, random_state=0
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(X, y)
        fitted.append(estimator.coefs_[0])
        assert any("clipped" in str(w.message) for w in caught) == (batch > len(X))
    np.testing.assert_array_equal(*fitted)
