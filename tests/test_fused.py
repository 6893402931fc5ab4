"""The fused steps (nn/optim/sgd.py, momentum.py, adam.py) and NumPy's own sgemm (nn/kernels/blas.py):
the same training as the explicit path (gradients, then the optimizer's update) up to float32 rounding,
exact weight decay, true weights whenever they are read, bit-identical reruns, no allocation per step,
the pure-NumPy path where sgemm is not found, and subnormals flushed by the CPU for Adam (kernels/fpu.py)."""

import os
import subprocess
import sys
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from scratchnet.nn import checkpoint
from scratchnet.nn.fit import FitConfig, fit
from scratchnet.nn.kernels import blas, fpu
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import SGD, Adam, Momentum

SIZES = (784, 64, 32, 10)
EPS = float(np.finfo(np.float32).eps)
SGEMM, FOUND = blas.find_sgemm()
needs_sgemm = pytest.mark.skipif(SGEMM is None, reason=f"no sgemm here: {FOUND}")


@pytest.fixture(scope="module")
def digits(sample):
    X, y = sample.part("train")
    return X[: 64 * 60], y[: 64 * 60]


def train(path, X, y, steps, lr, lam, *, dtype=np.float32, dropout=0.0, threads=1):
    """(model, optimizer) after ``steps`` batches of 64 in one epoch block: path "sgemm" or "numpy"
    (SGD's fused step on that path, or None: sgemm where found), or "explicit" (the gradients, then
    SGD.update); dropout masks from one seeded generator."""
    model = MLP(SIZES, seed=0, dropout=dropout, dtype=dtype)
    optimizer = SGD(lr=lr, weight_decay=lam, path=None if path == "explicit" else path)
    rng = np.random.default_rng(1)
    with threadpool_limits(threads), optimizer.epoch(model):
        for k in range(steps):
            xb, yb = X[64 * k : 64 * (k + 1)].astype(dtype), y[64 * k : 64 * (k + 1)]
            if path == "explicit":
                model.train_step(xb, yb, None, rng)
                optimizer.update(model.params, model.grads)
            else:
                model.train_step(xb, yb, optimizer, rng)
    return model, optimizer


def max_difference(a, b):
    return max(float(np.abs(p.astype(np.float64) - q).max()) for p, q in zip(a.params, b.params))


def largest_weight(model):
    return max(float(np.abs(p).max()) for p in model.params)


# --- NumPy's sgemm --------------------------------------------------------------------------


@needs_sgemm
def test_sgemm_is_numpys_own_openblas():
    path = SGEMM.library()
    assert "openblas" in os.path.basename(path).lower(), path
    site_packages = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
    assert os.path.relpath(path, site_packages).startswith("numpy"), path  # numpy.libs/, not SciPy's copy
    mapped = {line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower()}
    assert path in mapped


@needs_sgemm
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_sgemm_agrees_with_matmul(trans_a, trans_b):
    rng = np.random.default_rng(0)
    A = rng.random((19, 37) if trans_a else (37, 19), dtype=np.float32)
    B = rng.random((23, 19) if trans_b else (19, 23), dtype=np.float32)
    C = rng.random((37, 23), dtype=np.float32)
    expected = 0.5 * (A.T if trans_a else A).astype(np.float64) @ (B.T if trans_b else B) - 2.0 * C
    SGEMM(A, B, C, alpha=0.5, beta=-2.0, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(C, expected, rtol=1e-5, atol=1e-5)


@needs_sgemm
def test_sgemm_refuses_what_it_would_misread():
    A, B = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    with pytest.raises(ValueError, match="do not match"):
        SGEMM(A, B, np.ones((4, 4), np.float32))
    with pytest.raises(TypeError, match="float32"):
        SGEMM(A, B.astype(np.float64), np.ones((4, 5), np.float32))
    with pytest.raises(TypeError, match="C-contiguous"):
        SGEMM(A, np.ones((5, 3), np.float32).T, np.ones((4, 5), np.float32))


def test_without_sgemm_the_numpy_path_runs(monkeypatch, digits):
    monkeypatch.setattr(blas, "NAMES", ("no_such_sgemm",))
    monkeypatch.setattr(blas, "_FOUND", None)
    sgemm, description = blas.find_sgemm()
    assert sgemm is None and "no_such_sgemm is reachable" in description
    model, optimizer = MLP(SIZES, seed=0), SGD(lr=0.05, weight_decay=1e-3)
    loss, _ = model.train_step(*(a[:64] for a in digits), optimizer)
    assert optimizer.fused == "numpy" and np.isfinite(loss)


def test_environment_variable_forces_the_numpy_path():
    probe = (
        "from scratchnet.nn.kernels.blas import find_sgemm\nsgemm, description = find_sgemm()\n"
        "assert sgemm is None, description\nprint(description)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ, SCRATCHNET_SGD_PATH="numpy")
    )
    assert done.returncode == 0, done.stderr
    assert "SCRATCHNET_SGD_PATH=numpy" in done.stdout


# --- the same training as the explicit path --------------------------------------------------


# Tolerances. After one step, each float32 path has rounded every weight once or twice and
# summed its products in its own order: paths differ by < 1 eps * max|W| (measured 0.7). A real
# error (a missing or doubled decay, bias or learning-rate factor) moves weights by at least
# lr * lambda * |W| = 5e-5 |W| (400 eps), so 2 eps * max|W| tells the two apart. Over many steps
# the paths drift apart by a few eps, except that now and then a ReLU input within rounding of 0
# switches a unit on in one run and off in the other: the weights then differ by ~200 eps * max|W|
# (measured here after 60 steps; 7e-5 of the distance the weights moved). The same missing decay
# would be lr * lambda * 60 = 3e-3 |W|, 7e-3 of that distance: 1e-3 of it tells them apart.
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("path", ["sgemm", "numpy"])
def test_fused_paths_train_as_train_step_and_sgd(digits, path, dropout):
    if path == "sgemm" and SGEMM is None:
        pytest.skip(f"no sgemm here: {FOUND}")
    (one, optimizer), (one_explicit, _) = (
        train(kind, *digits, 1, lr=0.05, lam=1e-3, dropout=dropout) for kind in (path, "explicit")
    )
    assert optimizer.fused == path
    assert max_difference(one, one_explicit) <= 2 * EPS * largest_weight(one_explicit)
    fused, explicit = (train(kind, *digits, 60, lr=0.05, lam=1e-3, dropout=dropout)[0] for kind in (path, "explicit"))
    moved = max_difference(explicit, MLP(SIZES, seed=0))
    assert max_difference(fused, explicit) <= 1e-3 * moved


@needs_sgemm
def test_a_step_from_scaled_weights_is_the_step_from_true_weights(digits):
    """After a few fused steps the sgemm path holds W = s * V with s != 1 (here 0.95, from a large
    lr * lambda, so a misplaced s would change every weight by ~1%): its next step, and the loss
    it reports, are those of the explicit path (gradients, then SGD.update) from the true weights."""
    X, y = digits
    model, optimizer = MLP(SIZES, seed=0), SGD(lr=0.1, weight_decay=0.1)
    with optimizer.epoch(model):
        for k in range(5):
            model.train_step(X[64 * k : 64 * (k + 1)], y[64 * k : 64 * (k + 1)], optimizer)
        assert optimizer.scale == pytest.approx(0.99**5, rel=1e-12)
        twin = MLP(SIZES, seed=0)  # the true weights, W = s * V rounded once, as settle() makes them
        for i, (p, q) in enumerate(zip(twin.params, model.params)):
            p[...] = q if i % 2 else q.astype(np.float64) * optimizer.scale
        xb, yb = X[320:384], y[320:384]
        loss, correct = model.train_step(xb, yb, optimizer)
        assert optimizer.scale != 1.0
    twin_loss, twin_correct = twin.train_step(xb, yb)
    SGD(lr=0.1, weight_decay=0.1).update(twin.params, twin.grads)
    assert loss == pytest.approx(twin_loss, rel=1e-6) and correct == twin_correct
    assert optimizer.scale == 1.0  # the block's end settled it
    assert max_difference(model, twin) <= 2 * EPS * largest_weight(twin)


@needs_sgemm
def test_sgemm_and_numpy_paths_agree(digits):
    (sgemm, sgemm_optimizer), (numpy, numpy_optimizer) = (
        train(path, *digits, 60, lr=0.05, lam=1e-3) for path in ("sgemm", "numpy")
    )
    assert max_difference(sgemm, numpy) <= 1e-3 * max_difference(numpy, MLP(SIZES, seed=0))  # see above
    assert sgemm_optimizer.description.startswith("sgemm (") and numpy_optimizer.description == "pure NumPy"


def test_one_step_is_within_float32_rounding_of_float64(digits):
    reference, _ = train("explicit", *digits, 1, lr=0.05, lam=1e-3, dtype=np.float64)
    for path in (["sgemm"] if SGEMM else []) + ["numpy"]:
        model, _ = train(path, *digits, 1, lr=0.05, lam=1e-3)
        # storing W rounds it by eps/2 * |W|; the step's own float32 error adds less than that
        assert max_difference(model, reference) <= 2 * EPS * largest_weight(reference), path


@needs_sgemm
@pytest.mark.parametrize("lam", [1e-3, 1e-5])
def test_sgemm_path_decays_weights_exactly(digits, lam):
    """Weights of never-lit pixels get only the decay: W0 * (1 - lr * lambda)^steps. At lr 1e-3 and
    lambda 1e-5, float32(1 - lr * lambda) is 1 and W - lr * lambda * W rounds back to W: only a
    decay carried in float64 (W = s * V) still acts, as the L2 term says it must."""
    X, y = digits
    dark = np.flatnonzero(X.max(axis=0) == 0)
    assert len(dark) > 50
    model, _ = train("sgemm", X, y, 60, lr=1e-3, lam=lam)
    expected = MLP(SIZES, seed=0).params[0][dark].astype(np.float64) * (1 - 1e-3 * lam) ** 60
    np.testing.assert_allclose(model.params[0][dark], expected, rtol=EPS, atol=0)


def test_numpy_path_decays_as_the_explicit_update_does(digits):
    X, y = digits
    dark = np.flatnonzero(X.max(axis=0) == 0)
    model, _ = train("numpy", X, y, 60, lr=0.05, lam=1e-3)
    expected = MLP(SIZES, seed=0).params[0][dark].astype(np.float64) * (1 - 0.05 * 1e-3) ** 60
    np.testing.assert_allclose(model.params[0][dark], expected, rtol=60 * EPS)  # one rounding a step


def test_overshooting_decay_takes_the_plain_path(digits):
    """lr * lambda >= 0.5 would make the scale s tiny or negative: such steps run as the NumPy path."""
    X, y = digits
    fused, optimizer = MLP(SIZES, seed=0), SGD(lr=1.0, weight_decay=0.7)
    with optimizer.epoch(fused):
        for k in range(3):
            fused.train_step(X[64 * k : 64 * (k + 1)], y[64 * k : 64 * (k + 1)], optimizer)
            assert optimizer.scale == 1.0
    explicit, _ = train("explicit", *digits, 3, lr=1.0, lam=0.7)
    assert max_difference(fused, explicit) <= 4 * EPS * largest_weight(explicit)


# --- true weights whenever they are read ---------------------------------------------------


@needs_sgemm
def test_params_hold_true_weights_whenever_read(digits, tmp_path):
    """Inside an epoch block the sgemm path keeps W = s * V; the block's end folds s in, rounding each
    weight once. Outside a block (fit's epochs end one, a single step is one) params are the weights."""
    X, y = digits
    model, optimizer = MLP(SIZES, seed=0), SGD(lr=0.05, weight_decay=1e-3)
    with optimizer.epoch(model):
        for k in range(5):
            model.train_step(X[64 * k : 64 * (k + 1)], y[64 * k : 64 * (k + 1)], optimizer)
        scale = optimizer.scale
        assert scale == pytest.approx((1 - 0.05 * 1e-3) ** 5, rel=1e-12)
        stored = [p.copy() for p in model.weights]  # V, not W, until the block ends
    assert optimizer.scale == 1.0
    for w, v in zip(model.weights, stored):
        np.testing.assert_array_equal(w, (v.astype(np.float64) * scale).astype(np.float32))
    # fit settles after every epoch, before evaluating, copying the best weights or returning
    history = fit(
        model,
        optimizer,
        X,
        y,
        X[:200],
        y[:200],
        FitConfig(epochs=2, batch_size=64, patience=5, tol=0.0, seed=0),
    )
    assert optimizer.scale == 1.0
    best = history.records[history.best_epoch - 1]
    assert model.evaluate(X[:200], y[:200])[0] == pytest.approx(best["val_loss"], rel=1e-6)
    checkpoint.save(model, tmp_path / "m.npz", {})
    loaded, _ = checkpoint.load(tmp_path / "m.npz")
    for p, q in zip(model.params, loaded.params):
        np.testing.assert_array_equal(p, q)


def test_save_after_single_steps_writes_the_true_weights(digits, tmp_path):
    """50 steps called one by one at lr 0.1 and lambda 0.01 (where a pending scale would leave the
    stored weights 5% off), then save: the file holds what the explicit path trains, to rounding."""
    X, y = digits
    model, optimizer = MLP(SIZES, seed=0), SGD(lr=0.1, weight_decay=0.01)
    explicit, explicit_optimizer = MLP(SIZES, seed=0), SGD(lr=0.1, weight_decay=0.01)
    for k in range(50):
        xb, yb = X[64 * k : 64 * (k + 1)], y[64 * k : 64 * (k + 1)]
        model.train_step(xb, yb, optimizer)
        explicit.train_step(xb, yb)
        explicit_optimizer.update(explicit.params, explicit.grads)
    assert optimizer.scale == 1.0
    checkpoint.save(model, tmp_path / "m.npz", {})
    loaded, _ = checkpoint.load(tmp_path / "m.npz")
    moved = max_difference(explicit, MLP(SIZES, seed=0))
    assert max_difference(loaded, explicit) <= 1e-3 * moved  # the paths' rounding drift (see above)


def test_a_non_finite_loss_leaves_the_weights_alone(digits):
    X, y = digits
    model = MLP(SIZES, seed=0)
    before = [p.copy() for p in model.params]
    with np.errstate(over="ignore", invalid="ignore"):
        loss, _ = model.train_step(np.full_like(X[:64], np.nan), y[:64], SGD(lr=0.05, weight_decay=1e-3))
    assert not np.isfinite(loss)
    for p, q in zip(model.params, before):
        np.testing.assert_array_equal(p, q)


# --- which path fit takes; reruns; allocation -------------------------------------------------


@pytest.mark.parametrize(
    "make, dtype, fused",
    [
        (lambda: SGD(lr=0.05, weight_decay=1e-3), np.float32, True),
        (lambda: SGD(lr=0.05, weight_decay=1e-3), np.float64, False),
        (lambda: Momentum(lr=0.05, weight_decay=1e-3), np.float32, True),
        (lambda: Momentum(lr=0.05, nesterov=True, weight_decay=1e-3), np.float32, True),
        (lambda: Momentum(lr=0.05, weight_decay=1e-3), np.float64, False),
        (lambda: Adam(lr=1e-3, weight_decay=1e-3), np.float32, True),
        (lambda: Adam(lr=1e-3, weight_decay=1e-3), np.float64, False),
    ],
)
def test_fit_fuses_every_optimizer_in_float32_only(digits, make, dtype, fused):
    X, y = (a[:640] for a in digits)
    model, optimizer = MLP(SIZES, seed=0, dtype=dtype), make()
    fit(
        model,
        optimizer,
        X.astype(dtype),
        y,
        X.astype(dtype),
        y,
        FitConfig(epochs=1, batch_size=64, patience=5, tol=0.0, seed=0),
    )
    assert (getattr(optimizer, "fused", None) is not None) == fused
    if fused:
        assert optimizer.fused == ("sgemm" if SGEMM else "numpy")


@pytest.mark.parametrize("threads", [1, 2])
def test_reruns_are_bit_identical(digits, threads):
    X, y = digits
    runs = []
    for _ in range(2):
        model = MLP(SIZES, seed=0, dropout=0.2)
        with threadpool_limits(threads):
            fit(
                model,
                SGD(lr=0.05, weight_decay=1e-3),
                X,
                y,
                X[:500],
                y[:500],
                FitConfig(epochs=2, batch_size=64, patience=5, tol=0.0, seed=3),
            )
        runs.append(model.params)
    for p, q in zip(*runs):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("path", ["explicit", "numpy", "sgemm"])
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_a_step_allocates_no_array_data(path, dropout):
    """With 1,024 rows, the smallest array a step could allocate (one float32 per row) is 4 KB;
    what tracemalloc sees above the memory in use is Python's own small objects."""
    if path == "sgemm" and SGEMM is None:
        pytest.skip(f"no sgemm here: {FOUND}")
    rng = np.random.default_rng(0)
    X, y = rng.random((1024, SIZES[0]), dtype=np.float32), rng.integers(0, 10, 1024)
    model = MLP(SIZES, seed=0, dropout=dropout)
    optimizer = SGD(lr=0.01, weight_decay=1e-3, path=None if path == "explicit" else path)
    dropout_rng = np.random.default_rng(0)

    def step():
        if path == "explicit":
            model.train_step(X, y, None, dropout_rng)
            optimizer.update(model.params, model.grads)
        else:
            model.train_step(X, y, optimizer, dropout_rng)

    with optimizer.epoch(model):
        for _ in range(3):
            step()  # buffers, caches
        tracemalloc.start()
        try:
            peaks = []
            for _ in range(5):
                in_use, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                step()
                peaks.append(tracemalloc.get_traced_memory()[1] - in_use)
        finally:
            tracemalloc.stop()
    assert max(peaks) < 4096, peaks


# --- momentum, Nesterov and Adam fused ------------------------------------------------------------

FUSED = {
    "momentum": lambda path, lam: Momentum(lr=0.05, momentum=0.9, weight_decay=lam, path=path),
    "nesterov": lambda path, lam: Momentum(lr=0.05, momentum=0.9, nesterov=True, weight_decay=lam, path=path),
    "adam": lambda path, lam: Adam(lr=1e-3, weight_decay=lam, path=path),
}


def train_with(make, path, X, y, steps, lam, *, dtype=np.float32, dropout=0.0):
    """(model, optimizer) after ``steps`` batches of 64 in one epoch block: the fused step on ``path``, or
    "explicit" (the gradients, then the optimizer's update from them)."""
    model = MLP(SIZES, seed=0, dropout=dropout, dtype=dtype)
    optimizer, rng = make(None if path == "explicit" else path, lam), np.random.default_rng(1)
    with optimizer.epoch(model):
        for k in range(steps):
            xb, yb = X[64 * k : 64 * (k + 1)].astype(dtype), y[64 * k : 64 * (k + 1)]
            if path == "explicit":
                model.train_step(xb, yb, None, rng)
                optimizer.update(model.params, model.grads)
            else:
                model.train_step(xb, yb, optimizer, rng)
    return model, optimizer


# The tolerances and their reasons are those of the SGD test above: after one step a float32 path is
# within 2 eps * max|W| of another and of float64 (measured here: 0 to 0.6; Nesterov's fused step, with
# lr folded into its velocity, 0.17 from its explicit path); after 60 steps the paths drift apart by up
# to 1e-6 of the distance the weights moved (measured), where a missing decay, velocity or moment term
# would be > 1e-3 of it.
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("path", ["sgemm", "numpy"])
@pytest.mark.parametrize("name", FUSED)
def test_fused_optimizers_train_as_their_explicit_update(digits, name, path, dropout):
    if path == "sgemm" and SGEMM is None:
        pytest.skip(f"no sgemm here: {FOUND}")
    make = FUSED[name]
    (one, optimizer), (one_explicit, _) = (
        train_with(make, kind, *digits, 1, 1e-3, dropout=dropout) for kind in (path, "explicit")
    )
    assert optimizer.fused == path
    reference, _ = train_with(make, "explicit", *digits, 1, 1e-3, dtype=np.float64, dropout=dropout)
    assert max_difference(one, one_explicit) <= 2 * EPS * largest_weight(one_explicit)
    # Adam's first step, lr * g / (|g| + eps), turns the float32 gradient's rounding into up to
    # lr * |dg| / (4 eps) where |g| is near eps = 1e-8 (measured 1.4e-3 lr); a wrong moment or bias
    # correction moves weights by a sizable fraction of lr.
    tolerance = 2e-2 * 1e-3 if name == "adam" else 2 * EPS * largest_weight(reference)
    if not dropout:  # float64 draws other dropout masks from the same seed
        assert max_difference(one, reference) <= tolerance
    fused, explicit = (train_with(make, kind, *digits, 60, 1e-3, dropout=dropout)[0] for kind in (path, "explicit"))
    moved = max_difference(explicit, MLP(SIZES, seed=0))
    assert max_difference(fused, explicit) <= 1e-3 * moved


@pytest.mark.parametrize("name", FUSED)
def test_fused_optimizers_apply_the_l2_term(digits, name):
    """Without L2 the weights end elsewhere: the decay is really in the fused pass (by more than the
    1e-3 of the distance moved that separates the paths above)."""
    if SGEMM is None:
        pytest.skip(f"no sgemm here: {FOUND}")
    with_l2, without = (train_with(FUSED[name], "sgemm", *digits, 60, lam)[0] for lam in (1e-2, 0.0))
    moved = max_difference(without, MLP(SIZES, seed=0))
    assert max_difference(with_l2, without) > 1e-2 * moved


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", FUSED)
def test_fused_optimizers_rerun_bit_identically(digits, name, threads):
    X, y = digits
    runs = []
    for _ in range(2):
        model = MLP(SIZES, seed=0, dropout=0.2)
        with threadpool_limits(threads):
            fit(
                model,
                FUSED[name](None, 1e-3),
                X,
                y,
                X[:500],
                y[:500],
                FitConfig(epochs=2, batch_size=64, patience=5, tol=0.0, seed=3),
            )
        runs.append(model.params)
    for p, q in zip(*runs):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("name", FUSED)
def test_a_fused_step_allocates_no_array_data(name):
    rng = np.random.default_rng(0)
    X, y = rng.random((1024, SIZES[0]), dtype=np.float32), rng.integers(0, 10, 1024)
    model, optimizer, dropout_rng = MLP(SIZES, seed=0, dropout=0.2), FUSED[name](None, 1e-3), np.random.default_rng(0)
    peaks = step_peaks(model, X, y, optimizer, dropout_rng)
    assert max(peaks) < 4096, peaks


def step_peaks(model, X, y, optimizer, dropout_rng):
    """The memory each of 5 steps allocated on top of what was in use (after 3 steps for buffers and caches)."""
    with optimizer.epoch(model):
        for _ in range(3):
            model.train_step(X, y, optimizer, dropout_rng)  # buffers, caches
        tracemalloc.start()
        try:
            peaks = []
            for _ in range(5):
                in_use, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                model.train_step(X, y, optimizer, dropout_rng)
                peaks.append(tracemalloc.get_traced_memory()[1] - in_use)
        finally:
            tracemalloc.stop()
    return peaks


def test_the_cpu_flushes_subnormals_inside_a_block_only():
    if not fpu.available():
        pytest.skip("this machine's C library or CPU cannot flush subnormals (Adam zeroes them by hand)")
    tiny = np.array([1e-30], np.float32)
    with fpu.flush_subnormals() as flushing:
        assert flushing and (tiny * np.float32(1e-10))[0] == 0
    assert (tiny * np.float32(1e-10))[0] != 0  # 1e-40, a subnormal, outside the block


@pytest.mark.parametrize("cpu_flushes", [True, False])
def test_adam_keeps_no_subnormal_values_with_or_without_the_cpus_flushing(digits, monkeypatch, cpu_flushes):
    """Dark pixels' weights decay under L2 towards 0; either way no subnormal number is stored, and the
    two ways train alike (they differ only below 1e-16 in gradients and 1e-30 in stored values)."""
    if cpu_flushes and not fpu.available():
        pytest.skip("this machine cannot flush subnormals")
    if not cpu_flushes:
        monkeypatch.setattr(fpu, "_STATE", (None,))
    X, y = digits
    model, optimizer = train_with(FUSED["adam"], None, X, y, 60, 1.0)
    tiny = np.finfo(np.float32).tiny
    for arrays in (model.params, optimizer._m, optimizer._v):
        for a in arrays:
            assert not ((a != 0) & (np.abs(a) < tiny)).any()
    assert optimizer._flushing is False  # off again after the block


# --- max-norm and input dropout in the fused paths -------------------------------------------------

CONSTRAINED = {
    "sgd": lambda path, c: SGD(lr=0.05, weight_decay=1e-3, max_norm=c, path=path),
    **{name: (lambda path, c, make=make: replace(make(path, 1e-3), max_norm=c)) for name, make in FUSED.items()},
}


def constrained_run(make, path, X, y, steps, c, *, dtype=np.float32, input_dropout=0.0):
    """(model, the largest true column norm of a hidden layer seen after any step) after ``steps``
    batches in one epoch block; the norms are read mid-epoch, where fused SGD keeps W = s * V."""
    model = MLP(SIZES, seed=0, input_dropout=input_dropout, dtype=dtype)
    optimizer, rng, largest = make(None if dtype != np.float32 else path, c), np.random.default_rng(1), 0.0
    with optimizer.epoch(model):
        for k in range(steps):
            model.train_step(X[64 * k : 64 * (k + 1)].astype(dtype), y[64 * k : 64 * (k + 1)], optimizer, rng)
            scale = getattr(optimizer, "scale", 1.0)
            largest = max(largest, *(scale * float(np.linalg.norm(w, axis=0).max()) for w in model.weights[:-1]))
    return model, largest


# c = 1.2 binds from the first step: He-initialized columns have norms near sqrt(2). The fused
# float32 step must keep every hidden column within float32 rounding of c (1e-5 of it), and end where the
# float64 explicit step (the update, then the projection) ends, within the bounds of the test above.
@pytest.mark.parametrize("path", ["sgemm", "numpy"])
@pytest.mark.parametrize("name", CONSTRAINED)
def test_fused_max_norm_is_the_explicit_projection(digits, name, path):
    if path == "sgemm" and SGEMM is None:
        pytest.skip(f"no sgemm here: {FOUND}")
    make, c = CONSTRAINED[name], 1.2
    (one, largest), (reference, _) = (
        constrained_run(make, path, *digits, 1, c, dtype=t) for t in (np.float32, np.float64)
    )
    assert largest <= c * (1 + 1e-5)  # float32 sums of squares and the scaled weights rounded
    tolerance = 2e-2 * 1e-3 if name == "adam" else 4 * EPS * largest_weight(reference)
    assert max_difference(one, reference) <= tolerance
    (fused, largest), (exact, _) = (
        constrained_run(make, path, *digits, 20, c, dtype=t) for t in (np.float32, np.float64)
    )
    assert largest <= c * (1 + 1e-5)  # float32 sums of squares and the scaled weights rounded
    free, _ = constrained_run(make, path, *digits, 20, 0.0)
    moved, constrained_by = max_difference(exact, MLP(SIZES, seed=0)), max_difference(exact, free)
    assert max_difference(fused, exact) <= 1e-3 * moved < constrained_by  # the constraint changed the run


@pytest.mark.parametrize("name", CONSTRAINED)
def test_input_dropout_and_max_norm_rerun_bit_identically(digits, name):
    runs = [constrained_run(CONSTRAINED[name], None, *digits, 5, 1.2, input_dropout=0.2)[0] for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(runs[0].params, runs[1].params))
    other = constrained_run(CONSTRAINED[name], None, *digits, 5, 1.2)[0]  # no input dropout: another run
    assert max_difference(runs[0], other) > 1e-4


@pytest.mark.parametrize("name", CONSTRAINED)
def test_input_dropout_and_a_binding_max_norm_allocate_no_array_data(name):
    rng = np.random.default_rng(0)
    X, y = rng.random((64, SIZES[0]), dtype=np.float32), rng.integers(0, 10, 64)
    model, optimizer = MLP(SIZES, seed=0, dropout=0.2, input_dropout=0.2), CONSTRAINED[name](None, 1.2)
    peaks = step_peaks(model, X, y, optimizer, np.random.default_rng(0))
    assert max(peaks) < 4096, peaks
    assert max(float(np.linalg.norm(w, axis=0).max()) for w in model.weights[:-1]) > 1.19  # it binds
