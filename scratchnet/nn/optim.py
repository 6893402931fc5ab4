"""Optimizers: ``step(params, grads)`` updates params in place; OPTIMIZERS names them.

Each allocates its state (scratch, velocity, moments) once, at construction,
from the shapes of the parameters it will update. The L2 term is already in
the gradients (see losses.py), so every optimizer applies the same lambda * W.
"""
import numpy as np

from .inplace import axpy_, scratch


class SGD:
    """Plain mini-batch gradient descent: p <- p - lr * g."""
    HYPERPARAMETERS = ("lr",)
    STATE = {}  # name -> attribute holding arrays of the optimizer's state (for divergence reports)

    def __init__(self, params, *, lr):
        self.lr = lr
        self._scratch = scratch(params[0].dtype)

    def step(self, params, grads):
        for p, g in zip(params, grads):
            axpy_(p, -self.lr, g, self._scratch)  # exactly p - lr * g: negation is exact


class Momentum:
    """Heavy-ball momentum, PyTorch's convention: v <- mu*v + g; p <- p - lr*v.

    With nesterov=True the step is p <- p - lr * (g + mu * v).
    """
    HYPERPARAMETERS = ("lr", "momentum", "nesterov")
    STATE = {"momentum velocity": "_velocity"}

    def __init__(self, params, *, lr, momentum, nesterov=False):
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self._velocity = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]

    def step(self, params, grads):
        for p, g, v, s in zip(params, grads, self._velocity, self._scratch):
            mu, lr = p.dtype.type(self.momentum), p.dtype.type(self.lr)
            v *= mu
            v += g
            if self.nesterov:
                np.multiply(v, mu, out=s)
                s += g
            else:
                s[...] = v
            s *= lr
            p -= s


# Magnitudes set to 0 by Adam: far below anything that moves a prediction, and
# far enough above float32's smallest normal (1.2e-38) that products stay normal.
GRAD_FLUSH, STATE_FLUSH = 1e-16, 1e-30


def _flush(a, below, scratch, mask):
    np.less(np.abs(a, out=scratch), below, out=mask)
    np.copyto(a, 0, where=mask)


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction."""
    HYPERPARAMETERS = ("lr", "beta1", "beta2", "eps")
    STATE = {"Adam's first moment": "_m", "Adam's second moment": "_v"}

    def __init__(self, params, *, lr, beta1, beta2, eps):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self._m = [np.zeros_like(p) for p in params]
        self._v = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]
        self._tiny = [np.empty(p.shape, bool) for p in params]

    def step(self, params, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Bias corrections folded into the step size and epsilon (as in the paper, sec. 2).
        step_size = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        eps_hat = self.eps * np.sqrt(1 - b2 ** self.t)
        for p, g, m, v, s, tiny in zip(params, grads, self._m, self._v, self._scratch, self._tiny):
            t = p.dtype.type
            # With L2, Adam drives the weights of never-lit border pixels towards 0
            # until they, their gradients and moments are subnormal, and x86 computes
            # on subnormal floats about 100x slower (epochs went from 3 s to 30 s).
            # NumPy cannot set flush-to-zero, so zero what would become subnormal.
            _flush(g, GRAD_FLUSH, s, tiny)  # so that (1 - beta2) * g * g stays normal
            m *= t(b1)
            m += np.multiply(g, t(1 - b1), out=s)
            v *= t(b2)
            np.multiply(g, g, out=s)
            v += np.multiply(s, t(1 - b2), out=s)
            np.sqrt(v, out=s)
            s += t(eps_hat)
            np.divide(m, s, out=s)
            s *= t(step_size)
            p -= s
            for a in (p, m, v):
                _flush(a, STATE_FLUSH, s, tiny)


# Every optimizer by its params.yaml name. An optimizer's HYPERPARAMETERS name the
# attributes it takes from the training configuration, besides the parameters.
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name, params, config):
    """The optimizer ``name`` for ``params``, its hyperparameters read off ``config`` (e.g. the train section)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[name]
    return cls(params, **{key: getattr(config, key) for key in cls.HYPERPARAMETERS})
