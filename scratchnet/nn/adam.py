"""Adam (Kingma & Ba, 2015) with bias correction, keeping every value it stores normal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.constraints import Interval, hyperparameter
from .optimizer import LEARNING_RATE, Optimizer

# Magnitudes set to 0 by Adam: far below anything that moves a prediction, and
# far enough above float32's smallest normal (1.2e-38) that products stay normal.
GRAD_FLUSH, STATE_FLUSH = 1e-16, 1e-30
DECAY = Interval(float, 0, 1, closed="left", float32=True)


def _flush(a: np.ndarray, below: float, scratch: np.ndarray, mask: np.ndarray) -> None:
    np.less(np.abs(a, out=scratch), below, out=mask)
    np.copyto(a, 0, where=mask)


@dataclass(eq=False)
class Adam(Optimizer):
    """Adam: steps of lr * m_hat / (sqrt(v_hat) + eps) from decaying averages of g and g*g."""

    beta1: float = hyperparameter(DECAY)
    beta2: float = hyperparameter(DECAY)
    eps: float = hyperparameter(LEARNING_RATE)  # > 0 and a normal float32, as the learning rate

    torch_name = "Adam"

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr, "betas": (self.beta1, self.beta2), "eps": self.eps}

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        self.t = 0
        self._m = [np.zeros_like(p) for p in params]
        self._v = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]
        self._tiny = [np.empty(p.shape, bool) for p in params]

    def state(self):
        return {"Adam's first moment": (self._m, ("eps", "beta2")), "Adam's second moment": (self._v, ("eps", "beta2"))}

    def apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Bias corrections folded into the step size and epsilon (as in the paper, sec. 2).
        step_size = self.current_lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_hat = self.eps * np.sqrt(1 - b2**self.t)
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
