"""The multilayer perceptron: ReLU hidden layers, softmax output, backprop.

Parameters and their gradients are parallel lists ``[W0, b0, W1, b1, ...]``
(W has shape (fan_in, fan_out), so a layer is ``a @ W + b``). Training works in
buffers allocated once per batch size, and a step allocates no array data;
inference (``logits``/``predict``) is cache-free and runs in chunks, so 70,000
rows never build a 70,000-row cache. Two ways to train: ``train_step`` fills
``grads`` for any optimizer (and the gradient check); ``sgd_step`` is plain
SGD fused into backprop (fused.py), which ``train_epoch`` picks for SGD.
"""
import numpy as np

from .activations import relu_, relu_backward_, softmax
from .fused import FusedSGD
from .init import he_init
from .inplace import axpy_, scratch
from .losses import LossBuffers, cross_entropy, softmax_cross_entropy_


class Workspace:
    """Every buffer a training step on m rows works in, allocated once."""

    def __init__(self, sizes, m, dtype):
        self.acts = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:-1]]
        # Dropout's masks in forward, then ReLU's in backward (where a boolean mask is copied to float).
        self.masks = [np.empty((m, n), dtype) for n in sizes[1:-1]]
        self.flags = [np.empty((m, n), bool) for n in sizes[1:-1]]
        # z += b would make NumPy 2.4 allocate a buffer for the broadcast b; b is copied out to full rows.
        self.bias_rows = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.loss = LossBuffers(m, sizes[-1], dtype)
        self.predicted = np.empty(m, np.intp)
        self.hit = np.empty(m, bool)
        self.losses64 = np.empty(m, np.float64)

    def total(self, losses):
        """The sum of the per-row losses, in float64 (sum(dtype=float64) would allocate a cast buffer)."""
        np.copyto(self.losses64, losses)
        return float(self.losses64.sum())


class MLP:
    def __init__(self, sizes, *, seed, dropout=0.0, dtype=np.float32):
        self.sizes = tuple(int(s) for s in sizes)
        self.dropout = float(dropout)
        weights, biases = he_init(self.sizes, np.random.default_rng(seed), dtype)
        self.params = [p for pair in zip(weights, biases) for p in pair]
        self.grads = [np.zeros_like(p) for p in self.params]
        self._scratch = scratch(dtype)  # for grads += lambda * W
        self._workspaces = {}  # batch size -> Workspace
        self.sgd_path = None  # "sgemm" or "numpy" forces sgd_step's path; None: sgemm where found
        self.sgd = None  # the FusedSGD behind sgd_step, made on first use (.path, .description: which ran)

    @property
    def dtype(self):
        return self.params[0].dtype

    @property
    def weights(self):
        return self.params[0::2]

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def workspace(self, m):
        """The Workspace for batches of m rows (the last two sizes used are kept)."""
        work = self._workspaces.get(m)
        if work is None:
            if len(self._workspaces) >= 2:
                self._workspaces.clear()
            work = self._workspaces[m] = Workspace(self.sizes, m, self.dtype)
        return work

    def add_bias_(self, z, i, work):
        """z += b_i, through the full-size copy of b_i in ``work``."""
        bias_rows = work.bias_rows[i]
        np.copyto(bias_rows, self.params[2 * i + 1])
        z += bias_rows

    def dropout_(self, z, i, work, rng):
        """Inverted dropout on hidden layer i's output z, in place, if rng is given and dropout > 0."""
        if rng is None or self.dropout == 0:
            return
        mask = rng.random(out=work.masks[i], dtype=self.dtype)
        # mask <- 1/keep where kept, 0 where dropped (inverted dropout); through a
        # boolean buffer, since a float out= of a comparison allocates a cast buffer.
        np.copyto(mask, np.greater_equal(mask, self.dropout, out=work.flags[i]))
        mask *= self.dtype.type(1.0 / (1.0 - self.dropout))
        z *= mask

    def hidden_backward_(self, delta, i, a, work):
        """Turn delta = dLoss/d(output of hidden layer i) into dLoss/d(its input), in place; a is that output."""
        # Dropout zeroes exactly the outputs it dropped, so one mask read off the
        # output covers ReLU and dropout; keep scales.
        relu_backward_(delta, a, work.flags[i], work.masks[i])
        if self.dropout > 0:
            delta *= self.dtype.type(1.0 / (1.0 - self.dropout))

    def forward_train(self, X, rng=None):
        """Forward pass that keeps every activation for backward; returns logits.

        With ``rng`` and dropout > 0, applies inverted dropout to hidden layers.
        The returned array is a buffer reused by the next call.
        """
        self.sync()
        work = self.workspace(len(X))
        a = X
        for i in range(self.n_layers):
            z = work.acts[i]
            np.matmul(a, self.params[2 * i], out=z)
            self.add_bias_(z, i, work)
            if i < self.n_layers - 1:
                relu_(z)
                self.dropout_(z, i, work, rng)
            a = z
        return a

    def backward(self, X, delta, lam):
        """Fill self.grads from delta = dLoss/dlogits (overwritten) and lambda."""
        work = self.workspace(len(X))
        for i in reversed(range(self.n_layers)):
            W = self.params[2 * i]
            a_prev = X if i == 0 else work.acts[i - 1]
            np.matmul(a_prev.T, delta, out=self.grads[2 * i])
            if lam:
                axpy_(self.grads[2 * i], lam, W, self._scratch)
            np.sum(delta, axis=0, out=self.grads[2 * i + 1])
            if i > 0:
                prev = np.matmul(delta, W.T, out=work.deltas[i - 1])
                self.hidden_backward_(prev, i - 1, a_prev, work)
                delta = prev

    def count_correct(self, logits, y, work):
        """How many rows of logits have their largest value at the label y."""
        np.argmax(logits, axis=1, out=work.predicted)
        return int(np.count_nonzero(np.equal(work.predicted, y, out=work.hit)))

    def train_step(self, X, y, lam, rng=None):
        """Forward and backward on one batch; returns (summed loss, correct count).

        The loss is the data loss (see losses.py); grads include lambda * W.
        """
        logits = self.forward_train(X, rng)
        work = self.workspace(len(X))
        correct = self.count_correct(logits, y, work)
        losses = softmax_cross_entropy_(logits, y, buffers=work.loss)
        self.backward(X, logits, lam)
        return work.total(losses), correct

    def sgd_step(self, X, y, lr, lam, rng=None):
        """train_step, then SGD's update p <- p - lr * grad, fused into one pass (see fused.py).

        Returns (summed loss, correct count); on a non-finite loss the weights are left
        as they were. ``grads`` serve as scratch. Until ``sync()``, params may hold the
        weights divided by a scale (fused.py): every method of the model syncs first,
        and train_epoch syncs at the end of the epoch.
        """
        if self.sgd is None or (self.sgd_path and self.sgd.path != self.sgd_path):
            self.sync()
            self.sgd = FusedSGD(self, path=self.sgd_path)
        return self.sgd.step(X, y, lr, lam, rng)

    def sync(self):
        """Make params hold the true weights (a no-op unless sgd_step has run since the last sync)."""
        if self.sgd is not None:
            self.sgd.sync()

    def logits(self, X, chunk=4096):
        """Output-layer logits for every row of X, computed chunk by chunk."""
        return self.activations(X, self.n_layers - 1, chunk)

    def activations(self, X, layer, chunk=4096):
        """Outputs of layer ``layer`` (0 = first hidden, n_layers - 1 = logits), chunk by chunk."""
        self.sync()
        out = np.empty((len(X), self.sizes[layer + 1]), self.dtype)
        for start in range(0, len(X), chunk):
            a = X[start:start + chunk]
            for i in range(layer + 1):
                a = a @ self.params[2 * i]
                a += self.params[2 * i + 1]
                if i < self.n_layers - 1:
                    relu_(a)
            out[start:start + len(a)] = a
        return out

    def predict_proba(self, X):
        return softmax(self.logits(X))

    def predict(self, X):
        return self.logits(X).argmax(axis=1)

    def evaluate(self, X, y):
        """Mean data loss and accuracy on (X, y), without a backprop cache."""
        logits = self.logits(X)
        loss = float(cross_entropy(logits, y).mean(dtype=np.float64))
        accuracy = float(np.mean(logits.argmax(axis=1) == y))
        return loss, accuracy
