"""Adam (Kingma & Ba, 2015) with bias correction, fused into backprop in one pass per layer.

With ``g = dL/dW + lambda * W`` (L2 on weights only, lambda the ``weight_decay``, as PyTorch's
Adam with weight_decay):
``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
``W <- W - lr * m_hat / (sqrt(v_hat) + eps)``, m_hat and v_hat bias-corrected.

The moments are kept divided by (1 - b1) and (1 - b2): ``m~ <- b1 m~ + g``,
``v~ <- b2 v~ + g^2``, and the constants go into the step size and epsilon once a step
(as the paper folds the bias corrections in, sec. 2), so the pass makes fewer calls:
the weight-gradient product writes g into its buffer (sgemm of NumPy's own OpenBLAS,
or np.matmul), then one pass over the layer, a cache-sized block at a time, adds the
L2 term and updates both moments and the weights in preallocated buffers.

Never-lit border pixels' moments decay until they are subnormal, which x86 computes on
about 100 times slower; an epoch block runs with the CPU flushing subnormals to zero
(kernels/fpu.py). Where that is not available, the pass zeroes values below thresholds far under
anything that moves a prediction instead.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...base.constraints import Interval, hyperparameter
from ..kernels import fpu
from ..kernels.inplace import Blocks, add_column_squares
from .base import EXPLICIT, LEARNING_RATE, Optimizer, StepPlan

# Without the CPU's flushing: magnitudes set to 0, far below anything that moves a prediction,
# and far enough above float32's smallest normal (1.2e-38) that products stay normal.
GRAD_FLUSH, STATE_FLUSH = 1e-16, 1e-30
DECAY = Interval(float, 0, 1, closed="left", float32=True)


def _flush(a: np.ndarray, below: float, scratch: np.ndarray, mask: np.ndarray) -> None:
    np.less(np.abs(a, out=scratch), below, out=mask)
    np.copyto(a, 0, where=mask)


@dataclass(eq=False)
class Adam(Optimizer):
    """Adam: steps of lr * m_hat / (sqrt(v_hat) + eps) from decaying averages of g and g*g."""

    lr: float = hyperparameter(LEARNING_RATE, default=1e-3)
    beta1: float = hyperparameter(DECAY, default=0.9)
    beta2: float = hyperparameter(DECAY, default=0.999)
    eps: float = hyperparameter(LEARNING_RATE, default=1e-8)  # > 0 and a normal float32, as the learning rate

    torch_name = "Adam"

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr, "betas": (self.beta1, self.beta2), "eps": self.eps}

    def __post_init__(self) -> None:
        super().__post_init__()
        self._flushing = False  # inside a block where the CPU flushes subnormals

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        super().allocate(params)
        self.t = 0
        self._m = [np.zeros_like(p) for p in params]  # m / (1 - beta1)
        self._v = [np.zeros_like(p) for p in params]  # v / (1 - beta2)
        self._tiny = np.empty(self._scratch.shape, bool)

    def state(self):
        return {"Adam's first moment": (self._m, ("eps", "beta2")), "Adam's second moment": (self._v, ("eps", "beta2"))}

    @contextlib.contextmanager
    def epoch(self, model) -> Iterator[None]:
        with super().epoch(model), self._flush_subnormals():
            yield

    @contextlib.contextmanager
    def _flush_subnormals(self) -> Iterator[None]:
        if self._flushing:  # already on, in an enclosing block
            yield
            return
        with fpu.flush_subnormals() as flushing:
            self._flushing = flushing
            try:
                yield
            finally:
                self._flushing = False

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """The explicit update, one Adam step, from the data loss's gradients (they serve as scratch)."""
        with self._flush_subnormals():
            self._allocate_once(params)
            self._advance()
            self._apply(params, grads)

    def apply_one(self, p: np.ndarray, g: np.ndarray, k: int) -> None:
        self._pass(Blocks(p, g, self._m[k], self._v[k], scratch=self._scratch), 0.0)

    def advance(self) -> None:
        self._advance()

    def _advance(self) -> None:
        """Count the step; the step size and epsilon for the scaled moments, bias corrections folded in."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        correction = math.sqrt((1 - b2**self.t) / (1 - b2))  # sqrt(v_hat) = sqrt(v~) / correction
        self._step_size = self.current_lr * (1 - b1) / (1 - b1**self.t) * correction
        self._eps = self.eps * correction

    def _pass(self, blocks: Blocks, lam: float, squares: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """One pass over a parameter; ``squares``: max-norm's (norms, partial), to add the updated
        weights' column squares into (``column_squares``)."""
        t = blocks.views[0][0].dtype.type
        b1, b2, lam, eps, step = t(self.beta1), t(self.beta2), t(lam), t(self._eps), t(self._step_size)
        flushing, tiny = self._flushing, self._tiny
        for w, g, m, v, s in blocks:
            if lam:
                np.multiply(w, lam, out=s)
                g += s
            if not flushing:
                _flush(g, GRAD_FLUSH, s, tiny[: len(s)])  # so that g * g stays normal
            m *= b1
            m += g
            np.multiply(g, g, out=s)
            v *= b2
            v += s
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= step
            w -= s
            if not flushing:
                for a in (w, m, v):
                    _flush(a, STATE_FLUSH, s, tiny[: len(s)])
            if squares is not None:
                add_column_squares(w, *squares, s)

    def begin(self, model) -> StepPlan:
        super().begin(model)
        if self.fused is None:
            return EXPLICIT
        self.fused_passes(model, self._m, self._v)
        return StepPlan(self.sgemm)

    def update_layer(self, products, i: int) -> None:
        if self.fused is None:
            return super().update_layer(products, i)
        grads = self.bound().grads
        if self.sgemm is not None:
            products.accumulate(i, grads[2 * i], 1.0, 0.0)
            products.accumulate_bias(i, grads[2 * i + 1], 1.0, 0.0)
        else:
            products.weight_gradient(i, grads[2 * i])
            products.bias_gradient(i, grads[2 * i + 1])
        self._pass(self._passes[2 * i], self.weight_decay, self.column_squares(2 * i))
        self._pass(self._passes[2 * i + 1], 0.0)
        self.constrain(i)
