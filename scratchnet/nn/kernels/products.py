"""The matrix products of a training step, layer by layer: NumPy's matmul, or the sgemm of NumPy's
own OpenBLAS (blas.py), which can also scale a product and add it into its output.

``MLP.forward`` and ``MLP.backward`` call them, and an optimizer's per-layer update reads the
gradients from them; the optimizer chooses which kind (the fused SGD step needs sgemm's scale and
accumulate; the explicit path is plain matmul). They take the model's parallel parameter list
``[W0, b0, W1, b1, ...]`` and a workspace (the buffers of a step, ``model.Workspace``), not the
model itself. Layer i
reads its input ``a`` (X for i = 0, else the activations below) and, going back, its delta
(the logits buffer at the top, else ``work.deltas[i]``). An sgemm product is planned once
per workspace and input buffer (blas.Sgemm.plan), so a step repeats it without checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .blas import Plan


class MatmulProducts:
    """The products with np.matmul, weights as they are (scale 1)."""

    def __init__(self, params: Sequence[np.ndarray], work: Any, X: np.ndarray):
        self.params, self.work, self.X = params, work, X
        self.inputs = [X, *work.acts[:-1]]
        self.deltas = [*work.deltas, work.acts[-1]]
        self._key = (X.ctypes.data, X.shape, *params[0::2])

    def matches(self, X: np.ndarray) -> bool:
        """Whether these products are for this X (by address: a batch buffer is reused) and the params' weights."""
        key = self._key
        return key[0] == X.ctypes.data and key[1] == X.shape and all(a is b for a, b in zip(key[2:], self.params[0::2]))

    def forward(self, i: int, scale: float = 1.0) -> None:
        """work.acts[i] = a @ W_i + b_i."""
        assert scale == 1.0, "np.matmul cannot scale a product"
        z = self.work.acts[i]
        np.matmul(self.inputs[i], self.params[2 * i], out=z)
        bias_rows = self.work.bias_rows[i]  # z += b would allocate a buffer for the broadcast b
        np.copyto(bias_rows, self.params[2 * i + 1])
        z += bias_rows

    def backprop(self, i: int, scale: float = 1.0) -> None:
        """work.deltas[i - 1] = delta_i @ W_i.T (the delta below, before ReLU's mask)."""
        assert scale == 1.0, "np.matmul cannot scale a product"
        np.matmul(self.deltas[i], self.params[2 * i].T, out=self.work.deltas[i - 1])

    def weight_gradient(self, i: int, out: np.ndarray) -> np.ndarray:
        """out = a_i.T @ delta_i: layer i's weight gradient (times whatever factor delta carries)."""
        return np.matmul(self.inputs[i].T, self.deltas[i], out=out)

    def bias_gradient(self, i: int, out: np.ndarray) -> np.ndarray:
        """out = the column sums of delta_i: layer i's bias gradient."""
        return np.add.reduce(self.deltas[i], axis=0, out=out)


class SgemmProducts(MatmulProducts):
    """The same products through sgemm, for weights stored as ``W = scale * V``: forward and backprop
    take the scale as sgemm's alpha, and ``accumulate`` adds a scaled weight gradient into any array
    of a weight's shape (the weights themselves, a velocity) as sgemm's beta does."""

    def __init__(self, params: Sequence[np.ndarray], work: Any, X: np.ndarray, sgemm):
        super().__init__(params, work, X)
        self.sgemm = sgemm
        weights = params[0::2]
        self._forward = [sgemm.plan(a, W, z) for a, W, z in zip(self.inputs, weights, work.acts)]
        self._backprop = [None] + [
            sgemm.plan(d, W, prev, trans_b=True) for d, W, prev in zip(self.deltas[1:], weights[1:], work.deltas)
        ]
        self._accumulate: dict[tuple[int, int], Plan] = {}  # (layer, id of the target) -> plan
        self._bias: dict[tuple[int, int], Plan] = {}

    def forward(self, i: int, scale: float = 1.0) -> None:
        """work.acts[i] = scale * a @ V_i + b_i (b copied in first: no pass for the bias)."""
        np.copyto(self.work.acts[i], self.params[2 * i + 1])  # copyto broadcasts b without a buffer
        self._forward[i](scale, 1.0)

    def backprop(self, i: int, scale: float = 1.0) -> None:
        """work.deltas[i - 1] = scale * delta_i @ V_i.T."""
        self._backprop[i](scale, 0.0)

    def accumulate(self, i: int, target: np.ndarray, alpha: float, beta: float) -> None:
        """target = alpha * a_i.T @ delta_i + beta * target, in the product itself."""
        plan = self._accumulate.get((i, id(target)))
        if plan is None:
            plan = self._accumulate[i, id(target)] = self.sgemm.plan(
                self.inputs[i], self.deltas[i], target, trans_a=True
            )
        plan(alpha, beta)

    def accumulate_bias(self, i: int, target: np.ndarray, alpha: float, beta: float) -> None:
        """target = alpha * (column sums of delta_i) + beta * target, as a product with a column of ones."""
        plan = self._bias.get((i, id(target)))
        if plan is None:
            plan = self._bias[i, id(target)] = self.sgemm.plan(
                self.work.ones, self.deltas[i], target.reshape(1, -1), trans_a=True
            )
        plan(alpha, beta)
