"""The NumPy core: gradients, numerics, dtypes, early stopping, determinism, learning, checkpoints."""

import json
import zipfile

import numpy as np
import pytest

from scratchnet.base.errors import DivergenceError, ModelFileError
from scratchnet.base.formats import scale_pixels
from scratchnet.nn import checkpoint
from scratchnet.nn.activations import log_softmax, softmax
from scratchnet.nn.fit import FitConfig, fit
from scratchnet.nn.losses import LossBuffers, cross_entropy, l2_penalty, softmax_cross_entropy_
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import SGD, Momentum, Optimizer
from scratchnet.training.progress import epoch_log

TINY = (6, 5, 4, 3)


# --- gradients ---------------------------------------------------------------------------


def objective(model, X, y, lam, dropout_seed=None):
    """Mean cross-entropy + (lambda / 2) sum ||W||^2, computed without backprop (float64)."""
    rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
    logits = model.forward(model.products(model.drop_inputs(X, rng)), rng).copy()
    return float(cross_entropy(logits, y).mean()) + l2_penalty(model.weights, lam)


def numerical_gradients(model, X, y, lam, dropout_seed=None, h=1e-6):
    grads = []
    for p in model.params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = objective(model, X, y, lam, dropout_seed)
            p[i] = old - h
            down = objective(model, X, y, lam, dropout_seed)
            p[i] = old
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


class Recorder(Optimizer):
    """An optimizer that keeps the full gradient each parameter's update receives (the step's, with its
    weight decay) and leaves the parameter as it is."""

    def apply_one(self, p, g, k):
        self.seen[k] = g.copy()

    def allocate(self, params):
        super().allocate(params)
        self.seen = [None] * len(params)


def relative_errors(analytic, numeric):
    return [np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12) for a, n in zip(analytic, numeric)]


@pytest.mark.parametrize("lam", [0.0, 0.1])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_gradient_check_float64(lam, dropout):
    rng = np.random.default_rng(1)
    model = MLP(TINY, seed=3, dropout=dropout, dtype=np.float64)
    for b in model.params[1::2]:  # nonzero biases, so their gradients are exercised
        b[...] = rng.normal(0, 0.1, b.shape)
    X, y = rng.normal(size=(8, TINY[0])), rng.integers(0, TINY[-1], 8)
    seed = 5 if dropout else None
    recorder = Recorder(lr=1.0, weight_decay=lam)  # the step's gradients, as an optimizer's update receives them
    model.train_step(X, y, recorder, None if seed is None else np.random.default_rng(seed))
    analytic = recorder.seen
    numeric = numerical_gradients(model, X, y, lam, seed)
    for k, err in enumerate(relative_errors(analytic, numeric)):
        assert err.max() < 1e-6, f"param {k}: max relative error {err.max():.2e}"
    # The check must be able to fail: a gradient missing the L2 term is caught.
    if lam:
        wrong = analytic[0] - lam * model.params[0]
        assert relative_errors([wrong], [numeric[0]])[0].max() > 1e-3


def test_l2_covers_weights_not_biases():
    model = MLP(TINY, seed=0, dtype=np.float64)
    for b in model.params[1::2]:
        b[...] = 5.0
    expected = 0.5 * 0.01 * sum(float((w**2).sum()) for w in model.params[0::2])
    assert l2_penalty(model.weights, 0.01) == pytest.approx(expected, rel=1e-12)


def test_gradient_check_float64_with_input_dropout():
    # The masks are fixed by the seed: each evaluation of the objective redraws the same ones.
    rng = np.random.default_rng(1)
    model = MLP(TINY, seed=3, dropout=0.3, input_dropout=0.4, dtype=np.float64)
    X, y = rng.normal(size=(8, TINY[0])), rng.integers(0, TINY[-1], 8)
    recorder = Recorder(lr=1.0, weight_decay=0.1)
    model.train_step(X, y, recorder, np.random.default_rng(5))
    numeric = numerical_gradients(model, X, y, 0.1, 5)
    for k, err in enumerate(relative_errors(recorder.seen, numeric)):
        assert err.max() < 1e-6, f"param {k}: max relative error {err.max():.2e}"
    # The check can fail: without the input mask the first layer's gradient is another one.
    plain = MLP(TINY, seed=3, dropout=0.3, dtype=np.float64)
    plain_recorder = Recorder(lr=1.0, weight_decay=0.1)
    plain.train_step(X, y, plain_recorder, np.random.default_rng(5))
    assert relative_errors(plain_recorder.seen[:1], numeric[:1])[0].max() > 1e-3


def test_input_dropout_in_training_only_and_inverted():
    X = np.random.default_rng(0).random((4000, 50), dtype=np.float32) + 0.5
    model = MLP((50, 8, 3), seed=0, input_dropout=0.25)
    dropped = model.drop_inputs(X, np.random.default_rng(1))
    kept = dropped != 0
    assert abs(kept.mean() - 0.75) < 0.01  # a quarter of the inputs dropped
    np.testing.assert_allclose(dropped[kept], X[kept] / np.float32(0.75), rtol=1e-6)  # the rest scaled by 1/keep
    assert model.drop_inputs(X, None) is X  # no generator (inference): the batch as it is
    again = model.drop_inputs(X, np.random.default_rng(1))
    assert again is dropped and np.array_equal(again != 0, kept)  # one buffer; a seed gives its mask


@pytest.mark.parametrize("make", [SGD, lambda **k: Momentum(nesterov=True, **k)], ids=["sgd", "nesterov"])
def test_max_norm_float64_is_the_projection_after_the_update(make):
    """max_norm after a float64 step equals the unconstrained step's hidden weights with every column
    longer than c scaled to length c (the projection onto the ball); the output layer is free."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(16, 6)), rng.integers(0, 3, 16)
    c = 0.9
    free, bound = (MLP((6, 7, 5, 3), seed=4, dtype=np.float64) for _ in range(2))
    for model, max_norm in ((free, 0.0), (bound, c)):
        model.train_step(X, y, make(lr=0.3, weight_decay=1e-2, max_norm=max_norm))
    for i, (w_free, w_bound) in enumerate(zip(free.weights, bound.weights)):
        if i == free.n_layers - 1:
            np.testing.assert_array_equal(w_bound, w_free)  # the output layer is not constrained
            continue
        norms = np.linalg.norm(w_free, axis=0)
        assert (norms > c).any() and (norms < c).any(), norms  # the test binds some columns, not all
        np.testing.assert_allclose(w_bound, w_free * np.minimum(1, c / norms), rtol=1e-13, atol=0)
        assert np.linalg.norm(w_bound, axis=0).max() <= c * (1 + 1e-13)
    for b_free, b_bound in zip(free.params[1::2], bound.params[1::2]):
        np.testing.assert_array_equal(b_bound, b_free)  # biases are not constrained


# --- numerics and dtypes --------------------------------------------------------------------


def reference_cross_entropy(logits, y):
    z = logits.astype(np.float64)
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


def test_softmax_cross_entropy_extreme_logits_are_finite_and_exact():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3e4, 3e4 - 1, -3e4], [0.5, -0.25, 2.0]], np.float32)
    y = np.array([1, 2, 0, 2])
    reference = reference_cross_entropy(logits, y)
    grad = logits.copy()
    losses = softmax_cross_entropy_(grad, y)
    assert np.isfinite(losses).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(losses, reference, rtol=1e-6)
    np.testing.assert_allclose(cross_entropy(logits, y), reference, rtol=1e-6)
    p = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected_grad = (p - np.eye(3)[y]) / len(y)
    np.testing.assert_allclose(grad, expected_grad, atol=1e-7)
    np.testing.assert_allclose(softmax(logits), p, atol=1e-7)
    assert np.isfinite(log_softmax(logits)).all()
    assert np.allclose(softmax(logits).sum(axis=1), 1.0, atol=1e-6)


def test_softmax_cross_entropy_buffers_and_scale_change_nothing_else():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(16, 5)).astype(np.float32), rng.integers(0, 5, 16)
    plain, buffered = logits.copy(), logits.copy()
    losses = softmax_cross_entropy_(plain, y).copy()
    buffers = LossBuffers(16, 5, np.float32)
    np.testing.assert_array_equal(softmax_cross_entropy_(buffered, y, scale=-0.01, buffers=buffers), losses)
    np.testing.assert_allclose(buffered, -0.01 * plain, rtol=1e-6)  # the fused SGD step's delta
    with pytest.raises(IndexError, match=r"labels must be in 0..4, got 0..5"):
        softmax_cross_entropy_(logits.copy(), np.array([0] * 15 + [5]))


def test_float32_end_to_end():
    rng = np.random.default_rng(0)
    model = MLP(TINY, seed=0)
    X, y = rng.random((10, TINY[0]), dtype=np.float32), rng.integers(0, 3, 10)
    assert all(p.dtype == np.float32 for p in model.params)
    model.train_step(X, y, None, np.random.default_rng(0))
    assert all(g.dtype == np.float32 for g in model.grads)
    SGD(lr=0.1, weight_decay=0.01).update(model.params, model.grads)
    assert all(p.dtype == np.float32 for p in model.params)
    model.train_step(X, y, SGD(lr=0.1, weight_decay=0.01), np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in model.params)
    assert model.logits(X).dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32
    assert scale_pixels(np.array([[0, 255]], np.uint8)).dtype == np.float32


def test_fit_rejects_float64_input():
    model = MLP(TINY, seed=0)
    X = np.zeros((4, TINY[0]))
    with pytest.raises(TypeError, match="X_train is float64: fit takes float32 features, or uint8 pixels 0..255"):
        fit(
            model,
            SGD(lr=0.1),
            X,
            np.zeros(4, int),
            X,
            np.zeros(4, int),
            FitConfig(epochs=1, batch_size=2, patience=1, tol=0.0, seed=0),
        )


def test_fit_scales_uint8_pixels_as_the_pipeline_does():
    """uint8 pixels train exactly as the float32 pixels scale_pixels makes of them."""
    rng = np.random.default_rng(0)
    pixels, y = rng.integers(0, 256, (32, TINY[0])).astype(np.uint8), rng.integers(0, TINY[-1], 32)
    config = FitConfig(epochs=2, batch_size=8, patience=5, tol=0.0, seed=0)
    from_pixels, from_floats = MLP(TINY, seed=0), MLP(TINY, seed=0)
    fit(from_pixels, SGD(lr=0.1), pixels, y, pixels, y, config)
    fit(from_floats, SGD(lr=0.1), scale_pixels(pixels), y, scale_pixels(pixels), y, config)
    for p, q in zip(from_pixels.params, from_floats.params):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(from_pixels.params[0], MLP(TINY, seed=0).params[0])


def float32_sum_bound(model, X):
    """A bound on how far two float32 evaluations of the logits that sum in different orders (another
    chunking, thread count or BLAS kernel) can differ: a length-k dot product rounds to within
    k * eps * sum|x_i w_i| of its value, for either order (Higham, Accuracy and Stability, 3.1),
    and each layer passes the difference of its input on through |W| (ReLU does not enlarge it)."""
    eps = float(np.finfo(np.float32).eps)
    a, spread = np.abs(X.astype(np.float64)), np.zeros((len(X), model.sizes[0]))
    for i in range(model.n_layers):
        W, b = np.abs(model.params[2 * i].astype(np.float64)), np.abs(model.params[2 * i + 1].astype(np.float64))
        magnitude = a @ W + b
        spread = spread @ W + 2 * (model.sizes[i] + 1) * eps * magnitude
        a = magnitude
    return spread


def test_predict_in_chunks_equals_one_pass():
    """Chunks give the same logits as one pass, bit for bit in a repeat of one computation and within
    float32's summation bound where the chunking differs (BLAS may sum a 64-row product in another
    order than a 1,000-row one: 4.6e-7 apart on one machine)."""
    rng = np.random.default_rng(0)
    model = MLP((20, 16, 10), seed=0)
    X = rng.random((1000, 20), dtype=np.float32)
    whole = model.logits(X, chunk=1000)
    np.testing.assert_array_equal(whole, model.logits(X, chunk=1000))
    bound = float32_sum_bound(model, X)
    for chunk in (64, 97):
        chunked = np.concatenate([model.logits(X[i : i + chunk], chunk=chunk) for i in range(0, 1000, chunk)])
        np.testing.assert_array_equal(chunked, model.logits(X, chunk=chunk))
        assert (np.abs(chunked - whole) <= bound).all(), np.max(np.abs(chunked - whole) / bound)


def test_he_init_statistics():
    model = MLP((784, 512, 10), seed=0)
    w = model.params[0].astype(np.float64)
    assert abs(w.mean()) < 1e-3
    assert w.std() == pytest.approx(np.sqrt(2 / 784), rel=0.01)
    assert not model.params[1].any()


# --- training loop -------------------------------------------------------------------------


def noisy_problem(n_train=40, n_val=200, features=12, seed=0):
    """Random inputs and labels: a net memorises the training rows while validation loss rises."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_train + n_val, features), dtype=np.float32)
    y = rng.integers(0, 3, n_train + n_val)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def train_noisy(epochs, patience, tol=0.0, restore_best=True):
    X, y, Xv, yv = noisy_problem()
    model = MLP((12, 32, 3), seed=1)
    config = FitConfig(epochs=epochs, batch_size=8, patience=patience, tol=tol, seed=2, restore_best=restore_best)
    history = fit(model, SGD(lr=0.1), X, y, Xv, yv, config)
    return model, history, (Xv, yv)


def test_early_stopping_stops_after_patience_and_restores_best_weights():
    patience = 5
    model, history, (Xv, yv) = train_noisy(epochs=500, patience=patience)
    val_losses = [r["val_loss"] for r in history.records]
    best = history.best_epoch
    assert 1 < best < 500
    assert len(history.records) == best + patience
    assert val_losses[best - 1] == min(val_losses)
    # The restored weights are the best epoch's: a run stopped right there has the same ones.
    same, _, _ = train_noisy(epochs=best, patience=10_000)
    for restored, at_best in zip(model.params, same.params):
        np.testing.assert_array_equal(restored, at_best)
    assert model.evaluate(Xv, yv)[0] == pytest.approx(val_losses[best - 1], rel=1e-6)


def test_without_restore_best_the_last_epochs_weights_stay():
    patience = 5
    model, history, _ = train_noisy(epochs=500, patience=patience, restore_best=False)
    assert history.model_epoch == len(history.records) == history.best_epoch + patience
    same, _, _ = train_noisy(epochs=len(history.records), patience=10_000, restore_best=False)
    for kept, last in zip(model.params, same.params):
        np.testing.assert_array_equal(kept, last)
    restored, restored_history, _ = train_noisy(epochs=500, patience=patience)
    assert restored_history.model_epoch == restored_history.best_epoch
    assert not np.array_equal(restored.params[0], model.params[0])


def test_improvement_must_exceed_tol():
    _, history, _ = train_noisy(epochs=500, patience=3, tol=10.0)
    assert history.best_epoch == 1 and len(history.records) == 4


def test_history_records():
    _, history, _ = train_noisy(epochs=3, patience=100)
    assert [r["epoch"] for r in history.records] == [1, 2, 3]
    for r in history.records:
        assert set(r) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}
        assert 0 <= r["train_accuracy"] <= 1 and 0 <= r["val_accuracy"] <= 1
        assert r["train_loss"] > 0 and r["val_loss"] > 0 and r["seconds"] > 0


def test_progress_without_terminal_is_a_log_line(capsys):
    X, y, Xv, yv = noisy_problem()
    model = MLP((12, 32, 3), seed=1)
    with epoch_log(2, enabled=False) as on_epoch:
        fit(
            model,
            SGD(lr=0.1),
            X,
            y,
            Xv,
            yv,
            FitConfig(epochs=2, batch_size=8, patience=100, tol=0.0, seed=2),
            on_epoch=on_epoch,
        )
    err = capsys.readouterr().err
    assert err.count("epoch ") == 2 and "val_loss" in err


def test_divergence_stops_with_the_facts():
    """The network states what diverged, when, at which learning rate; the train stage gives the advice."""
    X, y, Xv, yv = noisy_problem()
    model = MLP((12, 32, 3), seed=1)
    with pytest.raises(DivergenceError, match=r"epoch 1: the training loss became nan.*learning rate 1e\+30") as info:
        fit(
            model,
            SGD(lr=1e30),
            X * 1e6,
            y,
            Xv,
            yv,
            FitConfig(epochs=5, batch_size=8, patience=5, tol=0.0, seed=0),
        )
    assert (info.value.epoch, info.value.quantity, info.value.lr) == (1, "training loss", 1e30)
    assert "train.lr" not in str(info.value)  # the network does not speak params.yaml


def test_same_seeds_give_bit_identical_weights():
    a, _, _ = train_noisy(epochs=4, patience=100)
    b, _, _ = train_noisy(epochs=4, patience=100)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)
    X, y, Xv, yv = noisy_problem()
    other = MLP((12, 32, 3), seed=1)
    fit(
        other, SGD(lr=0.1), X, y, Xv, yv, FitConfig(epochs=4, batch_size=8, patience=100, tol=0.0, seed=3)
    )  # another shuffle seed: other weights
    assert not np.array_equal(a.params[0], other.params[0])


@pytest.mark.parametrize("copy_by", ["pickle", "deepcopy"])
def test_a_copied_model_trains_on_exactly_like_its_original(copy_by):
    """Pickle and deepcopy leave the workspaces (and their planned sgemm calls, which hold the
    original's addresses) behind: the copy trains on by itself and the original is untouched."""
    import copy
    import pickle

    X, y, Xv, yv = noisy_problem()
    config = FitConfig(epochs=2, batch_size=8, patience=100, tol=0.0, seed=3)
    model = MLP((12, 32, 3), seed=0)
    fit(model, Momentum(lr=0.05, momentum=0.9, weight_decay=1e-3), X, y, Xv, yv, config)  # the sgemm path where found
    twin = pickle.loads(pickle.dumps(model)) if copy_by == "pickle" else copy.deepcopy(model)
    before = [p.copy() for p in model.params]
    fit(twin, Momentum(lr=0.05, momentum=0.9, weight_decay=1e-3), X, y, Xv, yv, config)
    for p, q in zip(model.params, before):
        np.testing.assert_array_equal(p, q)
    fit(model, Momentum(lr=0.05, momentum=0.9, weight_decay=1e-3), X, y, Xv, yv, config)
    for p, q in zip(model.params, twin.params):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(model.params[0], before[0])


def test_it_learns_real_digits(sample):
    (X, y), (Xv, yv), (Xt, yt) = (sample.part(name) for name in ("train", "val", "test"))
    model = MLP((784, 512, 256, 128, 10), seed=0)
    history = fit(
        model,
        SGD(lr=0.05, weight_decay=0.001),
        X,
        y,
        Xv,
        yv,
        FitConfig(epochs=8, batch_size=64, patience=100, tol=1e-6, seed=0),
    )
    accuracy = float(np.mean(model.predict(Xt) == yt))
    assert accuracy >= 0.90, (accuracy, history.records[-1])


# --- checkpoints -----------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    model = MLP((784, 32, 10), seed=4)
    path = tmp_path / "model.npz"
    checkpoint.save(model, path, {"train": {"lambda": 0.001}, "best_epoch": 7})
    return model, path


def test_save_load_round_trip(saved):
    model, path = saved
    loaded, config = checkpoint.load(path)
    X = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.sizes == model.sizes and config == {"train": {"lambda": 0.001}, "best_epoch": 7}
    assert all(p.dtype == np.float32 for p in loaded.params)


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        contents = {k: f[k] for k in f.files}
    contents.update(changes)
    contents = {k: v for k, v in contents.items() if v is not None}
    with open(path, "wb") as f:
        np.savez(f, **contents)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(b"not a zip file at all"), "not a readable .npz"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable .npz"),
        (lambda p: rewrite(p, format_version=np.int64(99)), "format version 99"),
        (lambda p: rewrite(p, sizes=np.array([784, 64, 10])), r"parameter 0 is float32 of shape \(784, 32\)"),
        (lambda p: rewrite(p, param_5=np.zeros(3, np.float32)), "holds 5 parameter arrays"),
        (lambda p: rewrite(p, param_3=None), "parameter 3 is missing"),
        (lambda p: rewrite(p, config=np.array("{not json")), "not valid JSON"),
        (lambda p: rewrite(p, config=None), "missing config"),
        (lambda p: rewrite(p, param_0=np.array([{"a": 1}], dtype=object)), "array param_0 holds Python objects"),
        (lambda p: p.unlink(), "no such model file"),
        (lambda p: np.save(open(p, "wb"), np.zeros(3)), "a single .npy array"),
        (lambda p: rewrite(p, sizes=np.array([784, 0, 10])), r"layer sizes \[784, 0, 10\] are not a network"),
        (lambda p: rewrite(p, format_version=np.array("one")), "format_version and sizes must be integers"),
    ],
    ids=[
        "garbage",
        "truncated",
        "future-version",
        "other-architecture",
        "extra-array",
        "missing-array",
        "bad-config",
        "no-config",
        "pickled-object",
        "missing-file",
        "plain-npy",
        "zero-size",
        "text-version",
    ],
)
def test_bad_model_files_give_clear_errors(saved, damage, message):
    _, path = saved
    damage(path)
    with pytest.raises(ModelFileError, match=message) as info:
        checkpoint.load(path)
    assert str(path) in str(info.value)


def test_save_needs_no_config(tmp_path):
    model = MLP((784, 32, 10), seed=4)
    checkpoint.save(model, tmp_path / "plain.npz")
    loaded, config = checkpoint.load(tmp_path / "plain.npz")
    assert config == {}
    np.testing.assert_array_equal(loaded.params[0], model.params[0])


def test_config_is_json_in_the_file(saved):
    _, path = saved
    with zipfile.ZipFile(path) as z:
        assert "config.npy" in z.namelist()
    with np.load(path, allow_pickle=False) as f:
        assert json.loads(str(f["config"]))["best_epoch"] == 7
        assert int(f["format_version"]) == checkpoint.FORMAT_VERSION


def test_dropout_in_training_only():
    rng = np.random.default_rng(0)
    model = MLP((50, 400, 3), seed=0, dropout=0.25)
    X = rng.random((64, 50), dtype=np.float32)
    clean = model.logits(X)
    np.testing.assert_allclose(model.forward(model.products(X)).copy(), clean, rtol=1e-5, atol=1e-5)  # no rng: off
    noisy = model.forward(model.products(X), np.random.default_rng(1)).copy()
    assert not np.allclose(noisy, clean)
    hidden = model.workspace(64).acts[0]
    relu_on = (X @ model.params[0] + model.params[1]) > 0
    dropped = 1 - np.count_nonzero(hidden[relu_on]) / np.count_nonzero(relu_on)
    assert dropped == pytest.approx(0.25, abs=0.01)  # a quarter of the live units dropped
    kept = hidden[hidden > 0] / (X @ model.params[0] + model.params[1])[hidden > 0]
    np.testing.assert_allclose(kept, 1 / 0.75, rtol=1e-5)  # survivors scaled by 1/keep
    again = model.forward(model.products(X), np.random.default_rng(1)).copy()
    np.testing.assert_array_equal(noisy, again)  # seeded
