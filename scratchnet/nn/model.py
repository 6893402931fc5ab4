"""The multilayer perceptron: ReLU hidden layers, softmax output, backprop.

Parameters and their gradients are parallel lists ``[W0, b0, W1, b1, ...]``
(W has shape (fan_in, fan_out), so a layer is ``a @ W + b``), and ``params``
always hold the true weights (outside an optimizer's epoch block). Training works in
buffers allocated once per batch size (``Workspace``), so a step allocates no array data.
``train_step`` is the one training step: the batch's products (kernels/products.py), the
forward pass keeping every activation, the loss gradient, the finiteness check, then the
backward pass, which walks down the layers and hands each layer to an ``update(i)`` hook as
soon as the delta below it is known. The hook is where optimizers differ (optim/): without
one it stores the gradients in ``grads``; an optimizer applies its update there, inside the
weight-gradient product where it can. Inference (``logits``, ``predict``) is cache-free and
runs in chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, Protocol

import numpy as np

from .activations import relu_, relu_backward_, softmax
from .init import he_init
from .kernels.products import MatmulProducts, SgemmProducts
from .losses import LossBuffers, cross_entropy, softmax_cross_entropy_


class UpdateRule(Protocol):
    """What the step needs of an optimizer (optim/base.py): its epoch block, its plan for the step
    (sgemm or not, the scale of the stored weights, the factor of the loss gradient), the count
    of a step, and the update of layer i once the delta below it is known."""

    def epoch(self, model: MLP) -> AbstractContextManager[None]: ...
    def begin(self, model: MLP) -> tuple[Any, float, float]: ...
    def advance(self) -> None: ...
    def update_layer(self, products: MatmulProducts, i: int) -> None: ...


class Workspace:
    """Every buffer a training step on m rows works in, allocated once."""

    def __init__(self, sizes: Sequence[int], m: int, dtype: np.dtype):
        self.acts = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:-1]]
        # Dropout's masks in forward, then ReLU's in backward (where a boolean mask is copied to float).
        self.masks = [np.empty((m, n), dtype) for n in sizes[1:-1]]
        self.flags = [np.empty((m, n), bool) for n in sizes[1:-1]]
        self.bias_rows = [np.empty((m, n), dtype) for n in sizes[1:]]  # b spread to full rows (products.py)
        self.loss = LossBuffers(m, sizes[-1], dtype)
        self.predicted = np.empty(m, np.intp)
        self.hit = np.empty(m, bool)
        self.losses64 = np.empty(m, np.float64)
        self.ones = np.ones((m, 1), dtype)  # bias gradients as products: ones.T @ delta
        self.products: dict[str, MatmulProducts] = {}  # kind -> the products last planned on this workspace
        # input dropout's batch, mask and flags (MLP.drop_inputs), made on its first use
        self.dropped: np.ndarray | None = None
        self.input_mask: np.ndarray | None = None
        self.input_flags: np.ndarray | None = None

    def total(self, losses: np.ndarray) -> float:
        """The sum of the per-row losses, in float64 (sum(dtype=float64) would allocate a cast buffer)."""
        np.copyto(self.losses64, losses)
        return float(self.losses64.sum())


class MLP:
    def __init__(
        self,
        sizes: Sequence[int],
        *,
        seed: int,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        dtype: type = np.float32,
    ):
        self.sizes = tuple(int(s) for s in sizes)
        self.dropout = float(dropout)
        self.input_dropout = float(input_dropout)  # the rate of input pixels dropped in training
        weights, biases = he_init(self.sizes, np.random.default_rng(seed), dtype)
        self.params: list[np.ndarray] = [p for pair in zip(weights, biases) for p in pair]
        self.grads = [np.zeros_like(p) for p in self.params]
        self._workspaces: dict[int, Workspace] = {}  # batch size -> Workspace

    def __getstate__(self) -> dict:
        """Pickling and copy.deepcopy leave the workspaces behind: they are buffers a step rebuilds,
        and their planned sgemm calls hold the addresses of this model's arrays."""
        return {**self.__dict__, "_workspaces": {}}

    @property
    def dtype(self) -> np.dtype:
        return self.params[0].dtype

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def workspace(self, m: int) -> Workspace:
        """The Workspace for batches of m rows (the last two sizes used are kept)."""
        work = self._workspaces.get(m)
        if work is None:
            if len(self._workspaces) >= 2:
                self._workspaces.clear()
            work = self._workspaces[m] = Workspace(self.sizes, m, self.dtype)
        return work

    def products(self, X: np.ndarray, sgemm=None) -> MatmulProducts:
        """The products of a step on the batch X: with ``sgemm`` (blas.Sgemm) the planned sgemm calls,
        else np.matmul; made once per workspace and batch buffer."""
        work = self.workspace(len(X))
        kind = "matmul" if sgemm is None else "sgemm"
        products = work.products.get(kind)
        if products is None or not products.matches(X):
            products = work.products[kind] = (
                MatmulProducts(self.params, work, X)
                if sgemm is None
                else SgemmProducts(self.params, work, np.ascontiguousarray(X), sgemm)
            )
        return products

    # --- training: the one step ----------------------------------------------------------

    def train_step(
        self, X: np.ndarray, y: np.ndarray, optimizer: UpdateRule | None = None, rng: np.random.Generator | None = None
    ) -> tuple[float, int]:
        """Train on one batch: (summed data loss, correct count); with ``optimizer`` None, only fill
        ``grads`` with the data loss's gradients (losses.py). A batch whose loss is not finite leaves
        the weights and the optimizer's state as they were. A step outside an ``optimizer.epoch``
        block is one of its own: the weights are the true ones after it."""
        if optimizer is None:
            return self._step(X, y, None, rng)
        with optimizer.epoch(self):
            return self._step(X, y, optimizer, rng)

    def _step(
        self, X: np.ndarray, y: np.ndarray, optimizer: UpdateRule | None, rng: np.random.Generator | None
    ) -> tuple[float, int]:
        sgemm, weight_scale, loss_scale = (None, 1.0, 1.0) if optimizer is None else optimizer.begin(self)
        products = self.products(self.drop_inputs(X, rng), sgemm)
        logits = self.forward(products, rng, scale=weight_scale)
        loss, correct = self.loss_gradient(logits, y, products.work, scale=loss_scale)
        if not math.isfinite(loss):
            return loss, correct
        if optimizer is None:
            update = partial(self.gradient, products)
        else:
            optimizer.advance()
            update = partial(optimizer.update_layer, products)
        self.backward(products, update, scale=weight_scale)
        return loss, correct

    def gradient(self, products: MatmulProducts, i: int) -> None:
        """Layer i's gradients of the data loss into ``grads`` (from ``products``' deltas, times any
        factor the loss gradient carries)."""
        products.weight_gradient(i, self.grads[2 * i])
        np.sum(products.deltas[i], axis=0, out=self.grads[2 * i + 1])

    def forward(
        self, products: MatmulProducts, rng: np.random.Generator | None = None, scale: float = 1.0
    ) -> np.ndarray:
        """The training forward pass on ``products``' batch, keeping every activation; returns the
        logits (a buffer reused by the next step). With ``rng`` and dropout > 0, inverted dropout
        on the hidden layers. ``scale``: the weights are ``scale * params`` (the fused SGD step's)."""
        work = products.work
        for i in range(self.n_layers):
            z = work.acts[i]
            products.forward(i, scale)
            if i < self.n_layers - 1:
                relu_(z)
                self.dropout_(z, i, work, rng)
        return work.acts[-1]

    def backward(self, products: MatmulProducts, update: Callable[[int], None], scale: float = 1.0) -> None:
        """Backprop from the logits buffer, which holds the gradient of the loss with respect to
        the logits (times any factor the caller folded in). For each layer from the top, the delta
        below is computed from the layer's current weights first, then ``update(i)`` uses layer i's
        gradient (``products.weight_gradient(i, ...)``, the column sums of its delta), so an update
        may change the layer's weights at once."""
        work = products.work
        for i in reversed(range(self.n_layers)):
            if i > 0:
                products.backprop(i, scale)
                self.hidden_backward_(work.deltas[i - 1], i - 1, work.acts[i - 1], work)
            update(i)

    def loss_gradient(
        self, logits: np.ndarray, y: np.ndarray, work: Workspace, scale: float = 1.0
    ) -> tuple[float, int]:
        """(summed data loss, correct count) of the batch; the logits become ``scale`` times the
        gradient of the mean loss with respect to them (losses.py)."""
        correct = self.count_correct(logits, y, work)
        return work.total(softmax_cross_entropy_(logits, y, scale=scale, buffers=work.loss)), correct

    def drop_inputs(self, X: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """The batch X with inverted dropout on its inputs (in a workspace buffer, its mask drawn from
        ``rng`` before the hidden layers' masks), if rng is given and input_dropout > 0; else X itself."""
        if rng is None or self.input_dropout == 0:
            return X
        work = self.workspace(len(X))
        if work.dropped is None:  # once per workspace: the dropped batch, its mask and the mask's flags
            work.dropped, work.input_mask = np.empty_like(X, self.dtype), np.empty_like(X, self.dtype)
            work.input_flags = np.empty(X.shape, bool)
        mask = rng.random(out=work.input_mask, dtype=self.dtype)
        np.copyto(mask, np.greater_equal(mask, self.input_dropout, out=work.input_flags))
        mask *= self.dtype.type(1.0 / (1.0 - self.input_dropout))
        return np.multiply(X, mask, out=work.dropped)

    def dropout_(self, z: np.ndarray, i: int, work: Workspace, rng: np.random.Generator | None) -> None:
        """Inverted dropout on hidden layer i's output z, in place, if rng is given and dropout > 0."""
        if rng is None or self.dropout == 0:
            return
        mask = rng.random(out=work.masks[i], dtype=self.dtype)
        # mask <- 1/keep where kept, 0 where dropped (inverted dropout); through a
        # boolean buffer, since a float out= of a comparison allocates a cast buffer.
        np.copyto(mask, np.greater_equal(mask, self.dropout, out=work.flags[i]))
        mask *= self.dtype.type(1.0 / (1.0 - self.dropout))
        z *= mask

    def hidden_backward_(self, delta: np.ndarray, i: int, a: np.ndarray, work: Workspace) -> None:
        """Turn delta = dLoss/d(output of hidden layer i) into dLoss/d(its input), in place; a is that output."""
        # Dropout zeroes exactly the outputs it dropped, so one mask read off the
        # output covers ReLU and dropout; keep scales.
        relu_backward_(delta, a, work.masks[i])
        if self.dropout > 0:
            delta *= self.dtype.type(1.0 / (1.0 - self.dropout))

    def count_correct(self, logits: np.ndarray, y: np.ndarray, work: Workspace) -> int:
        """How many rows of logits have their largest value at the label y."""
        np.argmax(logits, axis=1, out=work.predicted)
        return int(np.count_nonzero(np.equal(work.predicted, y, out=work.hit)))

    # --- inference -----------------------------------------------------------------------

    def logits(self, X: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Output-layer logits for every row of X, computed chunk by chunk."""
        return self.activations(X, self.n_layers - 1, chunk)

    def activations(self, X: np.ndarray, layer: int, chunk: int = 4096) -> np.ndarray:
        """Outputs of layer ``layer`` (0 = first hidden, n_layers - 1 = logits), chunk by chunk."""
        out = np.empty((len(X), self.sizes[layer + 1]), self.dtype)
        for start in range(0, len(X), chunk):
            a = X[start : start + chunk]
            for i in range(layer + 1):
                a = a @ self.params[2 * i]
                a += self.params[2 * i + 1]
                if i < self.n_layers - 1:
                    relu_(a)
            out[start : start + len(a)] = a
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.logits(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.logits(X).argmax(axis=1)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean data loss and accuracy on (X, y), without a backprop cache."""
        logits = self.logits(X)
        loss = float(cross_entropy(logits, y).mean(dtype=np.float64))
        accuracy = float(np.mean(logits.argmax(axis=1) == y))
        return loss, accuracy
