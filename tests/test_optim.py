"""Optimizers against textbook float64 references, the in-place contract, torch.optim's
constructor defaults, weight decay on weights only, schedules held by the optimizer."""

import numpy as np
import pytest

from scratchnet.base.constraints import arguments
from scratchnet.nn.kernels import inplace
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import OPTIMIZERS, SGD, Adam, Constant, Cosine, Momentum, StepDecay

TRAIN = {
    "lr": 0.01,
    "momentum": 0.9,
    "nesterov": False,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "lambda": 0.0,
    "max_norm": 0.0,
}


def params_and_grads(seed=0, steps=5):
    """Float32 parameter arrays (one larger than an axpy_ block) and a gradient per step."""
    rng = np.random.default_rng(seed)
    shapes = [(300, 130), (130,), (7, 3)]  # 39,000 elements > inplace.BLOCK
    params = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return params, grads


def reference_momentum(p, gs, lr, mu, nesterov):
    p, v = p.astype(np.float64), np.zeros(p.shape)
    for g in gs:
        v = mu * v + g
        p = p - lr * (g + mu * v if nesterov else v)
    return p


def reference_adam(p, gs, lr, b1, b2, eps):
    p, m, v = p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def run(optimizer_factory, params, grads):
    arrays = [p.copy() for p in params]
    ids = [id(a) for a in arrays]
    optimizer = optimizer_factory()
    for step_grads in grads:
        optimizer.update(arrays, step_grads)
    assert [id(a) for a in arrays] == ids and all(a.dtype == np.float32 for a in arrays)
    return arrays


def test_sgd_is_exactly_p_minus_lr_g():
    params, grads = params_and_grads(steps=1)
    updated = run(lambda: SGD(lr=0.01), params, grads)
    for p, g, u in zip(params, grads[0], updated):
        np.testing.assert_array_equal(u, p - np.float32(0.01) * g)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_reference(nesterov):
    params, grads = params_and_grads()
    updated = run(lambda: Momentum(lr=0.01, momentum=0.9, nesterov=nesterov), params, grads)
    for k, (p, u) in enumerate(zip(params, updated)):
        expected = reference_momentum(p, [g[k] for g in grads], 0.01, 0.9, nesterov)
        np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-6)
    # Nesterov and heavy ball differ, so the flag is really used.
    other = reference_momentum(params[0], [g[0] for g in grads], 0.01, 0.9, not nesterov)
    assert np.abs(updated[0] - other).max() > 1e-3


def test_adam_matches_reference_with_bias_correction():
    params, grads = params_and_grads()
    updated = run(lambda: Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8), params, grads)
    for k, (p, u) in enumerate(zip(params, updated)):
        expected = reference_adam(p, [g[k] for g in grads], 0.001, 0.9, 0.999, 1e-8)
        np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-7)
    # Bias correction matters: the first step moves every weight by about lr.
    first = run(lambda: Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8), params, grads[:1])
    np.testing.assert_allclose(np.abs(first[0] - params[0]), 0.001, rtol=1e-3)


def test_adam_keeps_no_subnormal_values():
    tiny = np.finfo(np.float32).tiny  # smallest normal float32
    p = np.full((4, 4), 1e-32, np.float32)
    p[0, 0] = 0.5
    g = np.full((4, 4), 1e-25, np.float32)
    g[0, 0] = 0.1
    optimizer = Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    for _ in range(50):
        optimizer.update([p], [g.copy()])
    for a in (p, optimizer._m[0], optimizer._v[0]):
        assert not ((a != 0) & (np.abs(a) < tiny)).any()
    expected = reference_adam(np.array([0.5]), [np.array([0.1])] * 50, 1e-3, 0.9, 0.999, 1e-8)
    assert p[0, 0] == pytest.approx(expected[0], rel=1e-5)  # normal values are untouched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizers_slot_into_the_train_step(dtype):
    rng = np.random.default_rng(0)
    X, y = rng.random((16, 6)).astype(dtype), rng.integers(0, 3, 16)
    for name in ("sgd", "momentum", "adam"):
        model = MLP((6, 5, 3), seed=0, dtype=dtype)
        before = [p.copy() for p in model.params]
        optimizer = OPTIMIZERS[name](**arguments(OPTIMIZERS[name], TRAIN))
        first = model.train_step(X, y, optimizer)[0]
        for _ in range(30):
            last = model.train_step(X, y, optimizer)[0]
        assert last < first, name
        assert all(not np.array_equal(b, p) for b, p in zip(before, model.params)), name


def test_constructors_have_torch_optims_defaults():
    adam = Adam(lr=1e-3)
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay) == (1e-3, 0.9, 0.999, 1e-8, 0.0)
    assert Adam().lr == 1e-3
    sgd = SGD(lr=0.1, weight_decay=1e-4)
    assert (sgd.lr, sgd.weight_decay, sgd.schedule) == (0.1, 1e-4, Constant())
    momentum = Momentum(0.1)
    assert (momentum.momentum, momentum.nesterov, momentum.weight_decay) == (0.9, False, 0.0)
    with pytest.raises(TypeError):
        SGD()  # the learning rate has no default, as in torch.optim.SGD
    with pytest.raises(TypeError):
        Momentum(0.1, 0.9, False, 1e-4)  # weight_decay is keyword-only


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_weight_decay_reaches_weights_not_biases(name):
    """With zero gradients a step moves only the weights, towards zero, as lambda * W in the gradient does."""
    W, b = np.full((4, 3), 2.0, np.float32), np.full(3, 2.0, np.float32)
    optimizer = OPTIMIZERS[name](**arguments(OPTIMIZERS[name], {**TRAIN, "lambda": 0.5}))
    optimizer.update([W, b], [np.zeros_like(W), np.zeros_like(b)])
    assert (W < 2.0).all() and (b == 2.0).all()
    if name != "adam":  # one step of lr * lambda * W
        np.testing.assert_allclose(W, 2.0 - 0.01 * 0.5 * 2.0, rtol=1e-6)


def test_the_optimizer_owns_its_learning_rate_schedule():
    optimizer = SGD(lr=0.1, schedule=StepDecay(step_every=2, step_gamma=0.5))
    rates = []
    for epoch in range(1, 6):
        optimizer.start_epoch(epoch, 5)
        rates.append(optimizer.current_lr)
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025]) and optimizer.lr == 0.1


def test_optimizers_declare_what_they_read_from_the_train_section():
    def make(name, **changes):
        return OPTIMIZERS[name](**arguments(OPTIMIZERS[name], {**TRAIN, **changes}))

    assert isinstance(make("sgd"), SGD)
    nesterov = make("momentum", nesterov=True)
    assert isinstance(nesterov, Momentum) and nesterov.nesterov and nesterov.momentum == 0.9
    adam = make("adam", beta2=0.99)
    assert isinstance(adam, Adam) and adam.beta2 == 0.99
    assert list(OPTIMIZERS) == ["sgd", "momentum", "adam"]


@pytest.mark.parametrize("size", [1, inplace.BLOCK - 1, inplace.BLOCK, 3 * inplace.BLOCK + 17])
def test_axpy_is_bit_identical_to_the_plain_expression(size):
    rng = np.random.default_rng(size)
    a, b = rng.normal(size=size).astype(np.float32), rng.normal(size=size).astype(np.float32)
    expected = a + np.float32(-0.37) * b
    out = inplace.axpy_(a, -0.37, b, inplace.scratch(np.float32))
    assert out is a
    np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize("size", [1, inplace.BLOCK + 5, 3 * inplace.BLOCK])
def test_decay_add_is_bit_identical_to_the_plain_expression(size):
    rng = np.random.default_rng(size)
    w, step = rng.normal(size=size).astype(np.float32), rng.normal(size=size).astype(np.float32)
    expected = w + (np.float32(-5e-5) * w + step)
    out = inplace.decay_add_(w, -5e-5, step, inplace.scratch(np.float32))
    assert out is w
    np.testing.assert_array_equal(w, expected)


def test_schedules():
    constant = Constant()
    assert all(0.1 * constant(e, 100) == 0.1 for e in (1, 2, 50, 100))
    step = StepDecay(step_every=10, step_gamma=0.5)
    assert [0.1 * step(e, 100) for e in (1, 10, 11, 21)] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    cosine = Cosine()
    assert 0.1 * cosine(1, 100) == pytest.approx(0.1) and 0.1 * cosine(51, 100) == pytest.approx(0.05)
    assert 0.1 * cosine(100, 100) < 0.001 and all(cosine(e, 100) > cosine(e + 1, 100) for e in range(1, 100))
