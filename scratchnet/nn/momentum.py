"""Momentum SGD, heavy ball or Nesterov, in PyTorch's convention, fused into backprop.

With the gradient ``g = dL/dW + lambda * W`` (L2 on weights only):

* heavy ball: ``v <- mu * v + g``; ``W <- W - lr * v``;
* Nesterov: ``v <- mu * v + g``; ``W <- W - lr * (g + mu * v)``.

How a step does it (float32, with the sgemm of NumPy's own OpenBLAS, blas.py): each layer
is updated as soon as backprop has the delta below it. Heavy ball puts the velocity update
inside the weight-gradient product, ``v <- mu * v + a_prev.T @ delta`` (sgemm's beta = mu),
then one pass over the layer, a cache-sized block at a time, adds the L2 term to the
velocity and steps the weights. Nesterov's step needs the fresh gradient beside the new
velocity, so the product writes the gradient into its buffer and the one pass makes g,
the velocity and the weights from it. The L2 term is exact as float32 computes it:
``lambda * W`` added to the velocity, as PyTorch's weight decay adds it to the gradient
(no factor near 1 is rounded, which is what a decay folded into sgemm's beta would do).
Biases take the same update without L2, their gradient a product with a column of ones.
Without that sgemm the products are np.matmul and the pass adds ``mu * v + g`` itself;
a float64 model takes the explicit path (gradients, then ``apply``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.constraints import Boolean, Interval, hyperparameter
from .inplace import Blocks, scratch
from .optimizer import Optimizer


@dataclass(eq=False)
class Momentum(Optimizer):
    """Gradient descent with momentum ``momentum``; ``nesterov`` for Nesterov's look-ahead."""

    momentum: float = hyperparameter(Interval(float, 0, 1, closed="left", float32=True))
    nesterov: bool = hyperparameter(Boolean(), default=False)

    torch_name = "SGD"

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        self._velocity = [np.zeros_like(p) for p in params]
        self._scratch = scratch(params[0].dtype)
        self._passes: list[Blocks] | None = None  # per parameter: its blocks beside velocity and gradient
        self.choose_path(params[0].dtype)

    def state(self):
        return {"velocity": (self._velocity, ("momentum",))}

    def apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """The explicit update from gradients that already hold the L2 term (``grads`` are not changed)."""
        for p, g, v in zip(params, grads, self._velocity):
            self._pass(Blocks(p, g, v, scratch=self._scratch), 0.0, "explicit")

    def _pass(self, blocks: Blocks, lam: float, given: str) -> None:
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
            elif given == "explicit":
                np.multiply(v, mu, out=s)
                s += g
                s *= lr
            else:
                np.multiply(v, mu, out=s)
                g += s
                np.multiply(g, lr, out=s)
            w -= s

    def _step(self, model, X, y, lam, rng):
        if self.fused is None:
            return super()._step(model, X, y, lam, rng)
        params, grads, velocity, sgemm = model.params, model.grads, self._velocity, self.sgemm
        if self._passes is None:
            self._passes = [Blocks(p, g, v, scratch=self._scratch) for p, g, v in zip(params, grads, velocity)]
        passes = self._passes
        products = model.products(X, sgemm)
        loss, correct = model.loss_gradient(model.forward(products, rng), y, products.work)
        if not math.isfinite(loss):
            return loss, correct  # the weights stay as they were
        mu = float(np.float32(self.momentum))
        in_product = sgemm is not None and not self.nesterov  # v <- mu * v + a.T @ delta inside sgemm

        def update(i):
            for k, decay in ((2 * i, lam), (2 * i + 1, 0.0)):  # the weights, then the biases
                if in_product:
                    (products.accumulate if k % 2 == 0 else products.accumulate_bias)(i, velocity[k], 1.0, mu)
                elif sgemm is not None:
                    (products.accumulate if k % 2 == 0 else products.accumulate_bias)(i, grads[k], 1.0, 0.0)
                else:
                    (products.weight_gradient if k % 2 == 0 else products.bias_gradient)(i, grads[k])
                self._pass(passes[k], decay, "velocity" if in_product else "gradient")

        model.backward(products, update)
        return loss, correct
