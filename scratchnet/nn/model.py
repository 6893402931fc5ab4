"""The multilayer perceptron: ReLU hidden layers, softmax output, backprop.

Parameters and their gradients are parallel lists ``[W0, b0, W1, b1, ...]``
(W has shape (fan_in, fan_out), so a layer is ``a @ W + b``). Training works in
buffers allocated once per batch size; inference (``logits``/``predict``) is
cache-free and runs in chunks, so 70,000 rows never build a 70,000-row cache.
"""
import numpy as np

from .activations import relu_, relu_backward_, softmax
from .init import he_init
from .inplace import axpy_, scratch
from .losses import cross_entropy, softmax_cross_entropy_


class MLP:
    def __init__(self, sizes, *, seed, dropout=0.0, dtype=np.float32):
        self.sizes = tuple(int(s) for s in sizes)
        self.dropout = float(dropout)
        weights, biases = he_init(self.sizes, np.random.default_rng(seed), dtype)
        self.params = [p for pair in zip(weights, biases) for p in pair]
        self.grads = [np.zeros_like(p) for p in self.params]
        self._scratch = scratch(dtype)  # for grads += lambda * W
        self._capacity = 0  # rows the training buffers hold

    @property
    def dtype(self):
        return self.params[0].dtype

    @property
    def weights(self):
        return self.params[0::2]

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def _buffers(self, m):
        # Allocated once per batch size; a smaller last batch uses views.
        if m > self._capacity:
            self._acts = [np.empty((m, n), self.dtype) for n in self.sizes[1:]]
            self._deltas = [np.empty((m, n), self.dtype) for n in self.sizes[1:-1]]
            self._masks = [np.empty((m, n), self.dtype) for n in self.sizes[1:-1]]
            self._capacity = m

    def forward_train(self, X, rng=None):
        """Forward pass that keeps every activation for backward; returns logits.

        With ``rng`` and dropout > 0, applies inverted dropout to hidden layers.
        The returned array is a buffer reused by the next call.
        """
        m = len(X)
        self._buffers(m)
        keep = 1.0 - self.dropout
        a = X
        for i in range(self.n_layers):
            z = self._acts[i][:m]
            np.matmul(a, self.params[2 * i], out=z)
            z += self.params[2 * i + 1]
            if i < self.n_layers - 1:
                relu_(z)
                if rng is not None and self.dropout > 0:
                    mask = rng.random(out=self._masks[i][:m], dtype=self.dtype)
                    # mask <- 1/keep where kept, 0 where dropped (inverted dropout).
                    np.greater_equal(mask, self.dropout, out=mask, casting="unsafe")
                    mask *= self.dtype.type(1.0 / keep)
                    z *= mask
            a = z
        return a

    def backward(self, X, delta, lam):
        """Fill self.grads from delta = dLoss/dlogits (overwritten) and lambda."""
        m = len(X)
        scale = self.dtype.type(1.0 / (1.0 - self.dropout))
        for i in reversed(range(self.n_layers)):
            W = self.params[2 * i]
            a_prev = X if i == 0 else self._acts[i - 1][:m]
            np.matmul(a_prev.T, delta, out=self.grads[2 * i])
            if lam:
                axpy_(self.grads[2 * i], lam, W, self._scratch)
            np.sum(delta, axis=0, out=self.grads[2 * i + 1])
            if i > 0:
                prev = np.matmul(delta, W.T, out=self._deltas[i - 1][:m])
                # Dropout zeroes exactly the outputs it dropped, so one mask
                # read off the output covers ReLU and dropout; keep scales.
                relu_backward_(prev, a_prev)
                if self.dropout > 0:
                    prev *= scale
                delta = prev

    def train_step(self, X, y, lam, rng=None):
        """Forward and backward on one batch; returns (summed loss, correct count).

        The loss is the data loss (see losses.py); grads include lambda * W.
        """
        logits = self.forward_train(X, rng)
        correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        losses = softmax_cross_entropy_(logits, y)
        self.backward(X, logits, lam)
        return float(losses.sum(dtype=np.float64)), correct

    def logits(self, X, chunk=4096):
        """Output-layer logits for every row of X, computed chunk by chunk."""
        return self.activations(X, self.n_layers - 1, chunk)

    def activations(self, X, layer, chunk=4096):
        """Outputs of layer ``layer`` (0 = first hidden, n_layers - 1 = logits), chunk by chunk."""
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
