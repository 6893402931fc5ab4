"""Plain SGD fused into backprop: one step is forward, backward and update, with no gradient kept.

The objective and the update are those of ``MLP.train_step`` + ``SGD.step``
(losses.py): ``W <- W - lr * (dL/dW + lambda * W)``, ``b <- b - lr * dL/db``.
What changes is the order of the work:

* The learning rate is folded into delta once: the output gradient is
  ``-lr * (p - onehot(y)) / m``; backprop is linear in delta, so each layer's
  ``a_prev.T @ delta`` is already its step ``-lr * dL/dW``.
* A layer is updated as soon as the delta below it has been computed (with its
  old weights), so no gradient is stored whole.
* With the sgemm of NumPy's own OpenBLAS (blas.py), the update happens inside
  the weight-gradient product. Each weight matrix is kept as ``W = s * V``: a
  float64 scale ``s``, shared by all layers, carries the decay exactly
  (``s <- s * (1 - lr * lambda)`` each step), every product with W is an sgemm
  with ``alpha = s``, and the update is ``V <- V + (1/s) * a_prev.T @ delta``
  (sgemm's ``beta = 1``): no pass over the weights besides the product itself.
  Folding the decay into sgemm's ``beta = float32(1 - lr * lambda)`` instead
  would be simpler but wrong: beta is quantized to 2**-24, so at lr 1e-3 a
  lambda of 1e-4 would act as 1.19e-4, and one below 3e-5 as 0.
  **While s != 1, ``model.params`` hold V, not W.** ``sync()`` folds s into V
  (W = V, s = 1); ``train_epoch`` calls it at the end of every epoch, and every
  method of the model calls it before reading the weights, so evaluate,
  predict, checkpoint.save, fit's copy of the best weights and compare all see
  the true W.
* Without that sgemm (another BLAS, another platform, SCRATCHNET_SGD_PATH=numpy,
  or ``model.sgd_path = "numpy"``): ``G = a_prev.T @ delta`` into the gradient
  buffer, then ``W += G - lr * lambda * W`` in one blocked pass (inplace.py).

Both paths round differently from train_step + SGD.step (and from each other);
tests/test_fused.py bounds how far. Every buffer is allocated once per batch size
(the model's Workspace, whose sgemm calls are planned once: ``Products``), so a
step allocates no array data; ``model.grads`` serve as scratch.
"""
import math

import numpy as np

from .activations import relu_
from .blas import find_sgemm
from .inplace import BLOCK, decay_add_
from .losses import softmax_cross_entropy_

RESCALE_BELOW = 0.5  # sync when s falls below this, so V never grows far from W


class Products:
    """The sgemm plans (blas.py) of a step on one workspace and batch X: layer i's forward
    ``z = s * a @ V + z``, backprop ``prev = s * delta @ V.T`` (i > 0) and update ``V += (1/s) * a.T @ delta``."""

    def __init__(self, sgemm, X, weights, work):
        self.key = (X.ctypes.data, X.shape, work, *weights)
        inputs = [X, *work.acts[:-1]]
        deltas = [*work.deltas, work.acts[-1]]  # layer i's delta: the logits buffer at the top
        self.forward = [sgemm.plan(a, W, z) for a, W, z in zip(inputs, weights, work.acts)]
        self.backprop = [None] + [sgemm.plan(d, W, prev, trans_b=True)
                                  for d, W, prev in zip(deltas[1:], weights[1:], work.deltas)]
        self.update = [sgemm.plan(a, d, W, trans_a=True) for a, d, W in zip(inputs, deltas, weights)]

    def matches(self, X, weights, work):
        """Whether these plans are for this X (by address), these weights and workspace."""
        key = self.key
        return (key[0] == X.ctypes.data and key[1] == X.shape and key[2] is work
                and all(a is b for a, b in zip(key[3:], weights)))


class FusedSGD:
    """The fused SGD step of one MLP; ``path`` "sgemm", "numpy" or None (sgemm where found)."""

    def __init__(self, model, path=None):
        self.model = model
        sgemm, found = find_sgemm() if path != "numpy" and model.dtype == np.float32 else (None, "")
        if path == "sgemm" and sgemm is None:
            raise LookupError(f"no usable sgemm: {found or f'the model is {model.dtype}'}")
        self.sgemm = sgemm
        self.path = "sgemm" if sgemm is not None else "numpy"
        self.description = found if sgemm is not None else "pure NumPy"
        self.scale = 1.0  # W = scale * V; always 1 on the NumPy path
        self._products = None
        self._block = np.empty(BLOCK, model.dtype)
        self._block64 = np.empty(BLOCK, np.float64)

    def sync(self):
        """Fold the scale into the stored weights (W = V, s = 1), rounding each weight once."""
        if self.scale == 1.0:
            return
        for V in self.model.weights:
            flat = V.reshape(-1)
            for start in range(0, flat.size, BLOCK):
                block = flat[start:start + BLOCK]
                # a float64 scalar, so the product is computed in float64 and rounded once
                exact = np.multiply(block, np.float64(self.scale), out=self._block64[:block.size])
                np.copyto(block, exact, casting="same_kind")
        self.scale = 1.0

    def step(self, X, y, lr, lam, rng=None):
        """One SGD step on the batch (X, y); returns (summed data loss, correct count)."""
        model, sgemm = self.model, self.sgemm
        L, params, work = model.n_layers, model.params, model.workspace(len(X))
        decay = lr * lam
        if sgemm is not None and not 0 <= decay < 0.5:
            sgemm = None  # an overshooting decay (the train stage warns): the plain path copes
        if self.scale < RESCALE_BELOW or (sgemm is None and self.scale != 1.0):
            self.sync()
        if sgemm is not None:
            X = np.ascontiguousarray(X)
            if self._products is None or not self._products.matches(X, model.weights, work):
                self._products = Products(sgemm, X, model.weights, work)
            products = self._products
        s = self.scale

        # Forward: z = a @ W + b, keeping every activation.
        a = X
        for i in range(L):
            z = work.acts[i]
            if sgemm is not None:
                np.copyto(z, params[2 * i + 1])  # copyto broadcasts b without a buffer
                products.forward[i](s, 1.0)
            else:
                np.matmul(a, params[2 * i], out=z)
                model.add_bias_(z, i, work)
            if i < L - 1:
                relu_(z)
                model.dropout_(z, i, work, rng)
            a = z

        # Loss and correct count; delta = -lr * dLoss/dlogits in place of the logits.
        correct = model.count_correct(a, y, work)
        loss = work.total(softmax_cross_entropy_(a, y, scale=-lr, buffers=work.loss))
        if not math.isfinite(loss):
            return loss, correct  # as train_epoch skips the update after a non-finite loss
        delta = a

        # Backward: each layer's delta below, from its old weights, then its update.
        s_next = s * (1.0 - decay) if sgemm is not None else 1.0
        for i in reversed(range(L)):
            W, b, a_prev = params[2 * i], params[2 * i + 1], (X if i == 0 else work.acts[i - 1])
            if i > 0:
                prev = work.deltas[i - 1]
                if sgemm is not None:
                    products.backprop[i](s, 0.0)
                else:
                    np.matmul(delta, W.T, out=prev)
                model.hidden_backward_(prev, i - 1, a_prev, work)
            if sgemm is not None:
                products.update[i](1.0 / s_next, 1.0)
            else:
                step = np.matmul(a_prev.T, delta, out=model.grads[2 * i])
                decay_add_(W, -decay, step, self._block)
            b += np.add.reduce(delta, axis=0, out=model.grads[2 * i + 1])
            if i > 0:
                delta = prev
        self.scale = s_next
        return loss, correct
