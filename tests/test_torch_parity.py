"""scratchnet and PyTorch from the same weights and batches agree (skipped without PyTorch).

PyTorch is never a dependency of the library: `make setup-bench` installs it.
"""
import numpy as np
import pytest

import dataclasses

from pipeline_helpers import PROJECT_ROOT
from scratchnet.pipeline import params

torch = pytest.importorskip("torch")
from scratchnet.tools.compare import compare  # noqa: E402  (needs torch)


def test_same_sgd_and_l2_give_the_same_weights(sample):
    # The default learning rate: at lr 0.01 float32 rounding differences between the two
    # matmul libraries grow to ~4e-4 in 5 epochs (predictions still agree), see README.
    p = params.load("model", "train", path=str(PROJECT_ROOT / "params.yaml"))
    model = dataclasses.replace(p.model, hidden_sizes=(512, 256, 128), init_seed=0, dropout=0.0)
    train = dataclasses.replace(p.train, optimizer="sgd", schedule="none", lr=0.001, lam=0.001, batch_size=64, seed=0)
    results = compare(*sample.part("train"), *sample.part("test"), model, train, epochs=5)  # 5 x 63 = 315 steps
    last = results[-1]
    assert last["max_abs_weight_difference"] < 1e-5, results
    assert last["prediction_agreement"] >= 0.998, results
    # The networks learned (chance is 0.1), so agreeing is not trivial.
    assert results[0]["scratchnet_accuracy"] < last["scratchnet_accuracy"] and last["scratchnet_accuracy"] > 0.4
