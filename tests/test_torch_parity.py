"""scratchnet and PyTorch from the same weights and batches agree (skipped without PyTorch).

PyTorch is never a dependency of the library: `make setup-bench` installs it.
"""

import configuration
import pytest

from scratchnet import params
from scratchnet.nn.kernels import blas

torch = pytest.importorskip("torch")
from tools.bench.compare import compare  # noqa: E402  (needs torch)


@pytest.mark.parametrize("path", ["sgemm", "numpy"])
def test_same_sgd_and_l2_give_the_same_weights(sample, monkeypatch, path):
    # The default learning rate: at lr 0.01 float32 rounding differences between the two
    # matmul libraries grow to ~4e-4 in 5 epochs (predictions still agree), see README.
    # Both paths of the fused SGD step (nn/optim/sgd.py). Measured after 5 epochs: the NumPy path
    # 3e-8 from PyTorch, the sgemm path 4e-6 (1 thread) to 7e-6 (2 threads): PyTorch, like
    # W - lr * (g + lambda * W) in float32, rounds the decay of each weight the same way every
    # step, and this drift is what the sgemm path, whose decay is exact, does not share (it ends
    # 10x closer to a float64 run than either; tests/test_fused.py).
    if path == "numpy":
        monkeypatch.setattr(blas, "_FOUND", (None, "pure NumPy (test)"))
    elif blas.find_sgemm()[0] is None:
        pytest.skip(f"no sgemm here: {blas.find_sgemm()[1]}")
    raw = configuration.document()
    raw["model"].update(hidden_sizes=[512, 256, 128], init_seed=0, dropout=0.0)
    raw["train"].update(
        optimizer="sgd", schedule="none", lr=0.001, batch_size=64, seed=0, patience=5, **{"lambda": 0.001}
    )
    p = params.validate(raw)
    results = compare(
        *sample.part("train"), *sample.part("val"), *sample.part("test"), p.model, p.train, epochs=5
    )  # 5 x 63 = 315 steps
    last = results[-1]
    assert last["max_abs_weight_difference"] < 1e-5, results
    assert last["prediction_agreement"] >= 0.998, results
    # The networks learned (chance is 0.1), so agreeing is not trivial.
    assert results[0]["scratchnet_accuracy"] < last["scratchnet_accuracy"] and last["scratchnet_accuracy"] > 0.4


# Measured here, 5 epochs at these settings, largest weight difference per epoch: momentum 3e-8,
# 6e-8, 6e-8, 6e-8, 6e-8; Nesterov (its fused step keeps lr folded into the velocity and rounds the
# weights once a step, as PyTorch's formula does) 3e-8, 3e-8, 6e-8, 6e-8, 6e-8; Adam 5e-7, 2e-3,
# 4e-3, 5e-3, 7e-3.
# Two float32 libraries sum in different orders; once a ReLU input within rounding of 0 switches
# a unit on in one and off in the other, the runs drift apart like two seeds (Adam at once:
# its first steps, lr * g / (|g| + eps), magnify rounding where |g| is near eps). So the
# comparison is made before that, and the predictions must agree after 5 epochs.
@pytest.mark.parametrize(
    "settings, epochs, bound",
    [
        ({"optimizer": "momentum", "lr": 0.001, "nesterov": False}, 2, 1e-6),
        ({"optimizer": "momentum", "lr": 0.001, "nesterov": True}, 2, 1e-6),
        ({"optimizer": "adam", "lr": 1e-4}, 1, 1e-5),
    ],
    ids=["momentum", "nesterov", "adam"],
)
def test_same_momentum_nesterov_and_adam_give_the_same_weights(sample, settings, epochs, bound):
    if blas.find_sgemm()[0] is None:
        pytest.skip(f"no sgemm here: {blas.find_sgemm()[1]}")
    raw = configuration.document()
    raw["model"].update(hidden_sizes=[512, 256, 128], init_seed=0, dropout=0.0)
    raw["train"].update(schedule="none", batch_size=64, seed=0, patience=5, **{"lambda": 0.001}, **settings)
    p = params.validate(raw)
    results = compare(*sample.part("train"), *sample.part("val"), *sample.part("test"), p.model, p.train, epochs=5)
    assert results[epochs - 1]["max_abs_weight_difference"] < bound, results
    assert results[-1]["prediction_agreement"] >= 0.99, results
    assert results[-1]["scratchnet_accuracy"] > 0.6  # learned: agreeing is not trivial


# The dropout paper's regularizers on both sides: the same input and hidden dropout masks (the
# reference draws scratchnet's, tools/bench/reference.py) and max-norm (torch.renorm after PyTorch's
# step). At c = 1.2 every hidden unit's He-initialized incoming weights (norm about sqrt(2)) are
# projected from the first step on, so the projection is exercised on every unit. Measured here,
# largest weight difference after epochs 1 and 2: SGD 4.6e-7, 8.5e-7; Nesterov 1.0e-7, 1.2e-7;
# predictions agree on every test row.
@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd", "lr": 0.01},
        {"optimizer": "momentum", "lr": 0.001, "momentum": 0.95, "nesterov": True},
    ],
    ids=["sgd", "nesterov"],
)
def test_input_dropout_and_max_norm_give_the_same_weights(sample, settings):
    if blas.find_sgemm()[0] is None:
        pytest.skip(f"no sgemm here: {blas.find_sgemm()[1]}")
    raw = configuration.document()
    raw["model"].update(hidden_sizes=[512, 256, 128], init_seed=0, dropout=0.5, input_dropout=0.2)
    raw["train"].update(schedule="none", batch_size=64, seed=0, patience=5, max_norm=1.2, **{"lambda": 1e-3})
    raw["train"].update(settings)
    p = params.validate(raw)
    results = compare(*sample.part("train"), *sample.part("val"), *sample.part("test"), p.model, p.train, epochs=2)
    assert results[0]["max_abs_weight_difference"] < 1e-5, results
    assert results[-1]["prediction_agreement"] >= 0.99, results
    assert results[-1]["scratchnet_accuracy"] > 0.4  # learned (chance is 0.1): agreeing is not trivial
