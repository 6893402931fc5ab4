"""Plain SGD, fused into backprop: one step is forward, backward and update, with no gradient kept.

The objective and the update are those of the explicit path (gradients, then ``SGD.update``;
losses.py): ``W <- W - lr * (dL/dW + lambda * W)``, ``b <- b - lr * dL/db``, lambda the
optimizer's ``weight_decay``. What changes is the order of the work:

* The learning rate is folded into delta once: the output gradient is
  ``-lr * (p - onehot(y)) / m``; backprop is linear in delta, so each layer's
  ``a_prev.T @ delta`` is already its step ``-lr * dL/dW``.
* A layer is updated as soon as the delta below it has been computed (with its
  old weights): ``MLP.backward`` calls the update hook in that order.
* With the sgemm of NumPy's own OpenBLAS (blas.py), the update happens inside
  the weight-gradient product. During an epoch each weight matrix is kept as
  ``W = s * V``: a float64 scale ``s``, shared by all layers, carries the decay
  exactly (``s <- s * (1 - lr * lambda)`` each step), every product with W is an
  sgemm with ``alpha = s`` (the step's ``weight_scale``), and the update is ``V <- V + (1/s) * a_prev.T @ delta``
  (sgemm's ``beta = 1``): no pass over the weights besides the product itself.
  Folding the decay into sgemm's ``beta = float32(1 - lr * lambda)`` instead
  would be simpler but wrong: beta is quantized to 2**-24, so at lr 1e-3 a
  lambda of 1e-4 would act as 1.19e-4, and one below 3e-5 as 0.
  The scale is this optimizer's own state: ``settle()`` folds it into the weights
  (W = V, s = 1) when an ``epoch()`` block ends, after a single ``step`` called on
  its own, and whenever s falls below 1/2, so ``model.params`` hold the true
  weights whenever anyone else reads them.
* Without that sgemm (another BLAS, another platform, SCRATCHNET_SGD_PATH=numpy,
  or ``SGD(path="numpy")``): ``G = a_prev.T @ delta`` into the gradient buffer,
  then ``W += G - lr * lambda * W`` in one blocked pass (inplace.py).
* A float64 model takes the explicit path: gradients, then ``update``.

The fused paths round differently from the explicit one (and from each other);
tests/test_fused.py bounds how far. No step allocates array data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..kernels.inplace import BLOCK, axpy_, decay_add_
from .base import EXPLICIT, Optimizer, StepPlan

RESCALE_BELOW = 0.5  # settle when s falls below this, so V never grows far from W


@dataclass(eq=False)
class SGD(Optimizer):
    """Plain mini-batch gradient descent: p <- p - lr * (g + weight_decay * p), the decay on weights only."""

    torch_name = "SGD"

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        super().allocate(params)
        self.scale = 1.0  # W = scale * V during an epoch on the sgemm path
        self._block64 = np.empty(BLOCK, np.float64)

    def apply_one(self, p: np.ndarray, g: np.ndarray, k: int) -> None:
        axpy_(p, -self.current_lr, g, self._scratch)  # exactly p - lr * g: negation is exact

    def settle(self) -> None:
        """Fold the scale into the stored weights (W = V, s = 1), rounding each weight once."""
        if self._model is None or self.scale == 1.0:
            return
        for V in self._model.weights:
            flat = V.reshape(-1)
            for start in range(0, flat.size, BLOCK):
                block = flat[start : start + BLOCK]
                # a float64 scalar, so the product is computed in float64 and rounded once
                exact = np.multiply(block, np.float64(self.scale), out=self._block64[: block.size])
                np.copyto(block, exact, casting="same_kind")
        self.scale = 1.0

    def begin(self, model) -> StepPlan:
        super().begin(model)
        if self.fused is None:
            return EXPLICIT
        self._lr = lr = self.current_lr
        self._decay = decay = lr * self.weight_decay
        sgemm = self.sgemm
        if sgemm is not None and not 0 <= decay < 0.5:
            sgemm = None  # an overshooting decay (advice.py names it if the run diverges): the plain path copes
        self._step_sgemm = sgemm
        if self.scale < RESCALE_BELOW or (sgemm is None and self.scale != 1.0):
            self.settle()
        # Forward and backprop with W = s * V; delta = -lr * dLoss/dlogits in place of the logits.
        return StepPlan(sgemm, self.scale, -lr)

    def advance(self) -> None:
        if self.fused is not None:  # the scale after this step's decay; forward and backprop keep the old one
            self.scale = self.scale * (1.0 - self._decay) if self._step_sgemm is not None else 1.0

    def update_layer(self, products, i: int) -> None:
        if self.fused is None:
            return super().update_layer(products, i)
        model = self.bound()
        params = model.params
        if self._step_sgemm is not None:  # both updates inside their products
            products.accumulate(i, params[2 * i], 1.0 / self.scale, 1.0)
            products.accumulate_bias(i, params[2 * i + 1], 1.0, 1.0)
        else:
            grads = model.grads
            decay_add_(params[2 * i], -self._decay, products.weight_gradient(i, grads[2 * i]), self._scratch)
            params[2 * i + 1] += products.bias_gradient(i, grads[2 * i + 1])
        self.constrain(i)

    def weight_scale(self) -> float:
        return self.scale  # after advance(): the scale the weights have after this step's update
