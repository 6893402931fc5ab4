"""Momentum SGD, heavy ball or Nesterov, in PyTorch's convention, fused into backprop.

With the gradient ``g = dL/dW + lambda * W`` (L2 on weights only, lambda the ``weight_decay``):

* heavy ball: ``v <- mu * v + g``; ``W <- W - lr * v``;
* Nesterov: ``v <- mu * v + g``; ``W <- W - lr * (g + mu * v)``.

How a step does it (float32, with the sgemm of NumPy's own OpenBLAS, kernels/blas.py): each
layer is updated as soon as backprop has the delta below it.

* Heavy ball puts the velocity update inside the weight-gradient product,
  ``v <- mu * v + a_prev.T @ delta`` (sgemm's beta = mu), then one pass over the layer, a
  cache-sized block at a time, adds the L2 term to the velocity and steps the weights.
* Nesterov keeps the learning rate folded into its velocity, ``u = lr * v`` (rescaled when the
  schedule changes lr), and the loss gradient comes times lr, so the product gives
  ``lr * dL/dW`` directly. Then ``W - lr * (g + mu * v_new) = W - ((1 + mu) * u_new - mu * u_old)``:
  before the product a pass keeps ``mu * u_old`` in the gradient buffer, the product makes
  ``u <- mu * u + lr * a_prev.T @ delta`` inside sgemm as heavy ball's does, and a second pass
  adds the L2 term ``lr * lambda * W`` to u and steps the weights, rounding them once: the
  work of heavy ball's step. It rounds differently from PyTorch's formula, within the
  tolerances tests/test_torch_parity.py and tests/test_fused.py measure.

The L2 term is exact as float32 computes it: ``lambda * W`` added to the velocity, as PyTorch's
weight decay adds it to the gradient (no factor near 1 is rounded, which is what a decay folded
into sgemm's beta would do). Biases take the same update without L2, their gradient a product
with a column of ones. Without that sgemm the products are np.matmul and one pass after the
product does the rest; a float64 model takes the explicit path (gradients, then ``apply_one``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...base.constraints import Boolean, Interval, hyperparameter
from ..kernels.inplace import Blocks, add_column_squares
from .base import EXPLICIT, Optimizer, StepPlan


@dataclass(eq=False)
class Momentum(Optimizer):
    """Gradient descent with momentum ``momentum``; ``nesterov`` for Nesterov's look-ahead."""

    momentum: float = hyperparameter(Interval(float, 0, 1, closed="left", float32=True), default=0.9)
    nesterov: bool = hyperparameter(Boolean(), default=False)

    torch_name = "SGD"

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        super().allocate(params)
        self._velocity = [np.zeros_like(p) for p in params]  # v; lr * v for the fused Nesterov step
        self._velocity_lr = 0.0  # the lr folded into the fused Nesterov step's velocity (0: none yet)

    def state(self):
        return {"velocity": (self._velocity, ("momentum",))}

    def apply_one(self, p: np.ndarray, g: np.ndarray, k: int) -> None:
        """The explicit update from a gradient that already holds the L2 term (``g`` is not changed)."""
        self._pass(Blocks(p, g, self._velocity[k], scratch=self._scratch), 0.0, "explicit")

    def _pass(
        self, blocks: Blocks, lam: float, given: str, squares: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """One pass over a parameter, block by block. ``given`` says what the product left:
        "velocity" (heavy ball: v is already mu * v + a.T @ delta), "gradient" (a.T @ delta in g,
        a buffer of ours), or "explicit" (g is the caller's full gradient, left as it is)."""
        t = blocks.views[0][0].dtype.type
        mu, lr, lam = t(self.momentum), t(self.current_lr), t(lam)
        for w, g, v, s in blocks:
            if lam:  # the L2 term, lambda * W, joins the gradient (in v, if v already holds it)
                np.multiply(w, lam, out=s)
                (v if given == "velocity" else g).__iadd__(s)
            if given != "velocity":
                v *= mu
                v += g
            if not self.nesterov:
                np.multiply(v, lr, out=s)
            else:
                np.multiply(v, mu, out=s)
                s += g
                if given == "explicit":
                    s *= lr
            w -= s
            if squares is not None:
                add_column_squares(w, *squares, s)

    def _look_ahead(self, blocks: Blocks) -> None:
        """Nesterov's pass before the product: keep mu * u (the old velocity's share) in the gradient buffer."""
        mu = blocks.views[0][0].dtype.type(self.momentum)
        for _, g, u, _ in blocks:
            np.multiply(u, mu, out=g)

    def _land(self, blocks: Blocks, decay: float, squares: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Nesterov's pass after the product left u = mu * u + lr * a.T @ delta: u += lr * lambda * W,
        then W -= (1 + mu) * u - (the kept mu * u_old), which is lr * (g + mu * v_new)."""
        t = blocks.views[0][0].dtype.type
        lift, decay = t(1 + t(self.momentum)), t(decay)
        for w, g, u, s in blocks:
            if decay:
                np.multiply(w, decay, out=s)
                u += s
            np.multiply(u, lift, out=s)
            s -= g
            w -= s
            if squares is not None:
                add_column_squares(w, *squares, s)

    def begin(self, model) -> StepPlan:
        super().begin(model)
        if self.fused is None:
            return EXPLICIT
        self.fused_passes(model, self._velocity)
        if not self.nesterov:
            return StepPlan(self.sgemm)
        lr = self.current_lr
        if self._velocity_lr and self._velocity_lr != lr:  # the schedule moved lr: u = lr * v
            ratio = self._velocity[0].dtype.type(lr / self._velocity_lr)
            for u in self._velocity:
                u *= ratio
        self._velocity_lr = lr
        return StepPlan(self.sgemm, 1.0, lr)

    def update_layer(self, products, i: int) -> None:
        if self.fused is None:
            return super().update_layer(products, i)
        grads, velocity, passes, sgemm = self.bound().grads, self._velocity, self._passes, self.sgemm
        mu = float(np.float32(self.momentum))
        for k, decay in ((2 * i, self.weight_decay), (2 * i + 1, 0.0)):  # the weights, then the biases
            if sgemm is None:  # np.matmul: the gradient into our buffer, then one pass
                (products.weight_gradient if k % 2 == 0 else products.bias_gradient)(i, grads[k])
                lam = self._velocity_lr * decay if self.nesterov else decay
                self._pass(passes[k], lam, "gradient", self.column_squares(k))
                continue
            accumulate = products.accumulate if k % 2 == 0 else products.accumulate_bias
            if self.nesterov:
                self._look_ahead(passes[k])
                accumulate(i, velocity[k], 1.0, mu)
                self._land(passes[k], self._velocity_lr * decay, self.column_squares(k))
            else:
                accumulate(i, velocity[k], 1.0, mu)
                self._pass(passes[k], decay, "velocity", self.column_squares(k))
        self.constrain(i)
