"""scratchnet and PyTorch from the same weights and batches agree (skipped without PyTorch).

PyTorch is never a dependency of the library: `make setup-bench` installs it.
"""
import numpy as np
import pytest

from scratchnet import data
from scratchnet.compare import compare
from scratchnet.split import stratified_split

torch = pytest.importorskip("torch")


def test_same_sgd_and_l2_give_the_same_weights():
    X, y = data.fetch_sample()
    train, _, test = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0)
    X = data.scale_pixels(X)
    # The default learning rate: at lr 0.01 float32 rounding differences between the two
    # matmul libraries grow to ~4e-4 in 5 epochs (predictions still agree), see README.
    p = {"model": {"hidden_sizes": [512, 256, 128], "init_seed": 0},
         "train": {"lr": 0.001, "lambda": 0.001, "batch_size": 64, "seed": 0}}
    results = compare(X[train], y[train], X[test], y[test], p, epochs=5)  # 5 x 63 = 315 steps
    last = results[-1]
    assert last["max_abs_weight_difference"] < 1e-5, results
    assert last["prediction_agreement"] >= 0.998, results
    # The networks learned (chance is 0.1), so agreeing is not trivial.
    assert results[0]["scratchnet_accuracy"] < last["scratchnet_accuracy"] and last["scratchnet_accuracy"] > 0.4
