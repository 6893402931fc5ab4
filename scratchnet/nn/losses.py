"""Softmax cross-entropy fused with its gradient, and the L2 penalty.

Conventions, stated once:

* The data loss is the **mean** cross-entropy over the m rows of a batch:
  ``L_data = -(1/m) * sum_i log softmax(z_i)[y_i]``.
* The L2 penalty covers **weight matrices only, never biases**:
  ``L_l2 = (lambda / 2) * sum_l ||W_l||_F^2``, so its gradient is ``lambda * W_l``.
  ``lambda`` is ``train.lambda`` in params.yaml; it is not divided by m or by
  the number of training rows.
* The objective minimised is ``L_data + L_l2``. The "loss" recorded in
  histories and metrics is ``L_data`` alone, so train and validation losses are
  comparable with each other and across values of lambda.
* The gradient of ``L_data`` with respect to the logits is ``(p - onehot(y)) / m``.
"""

import numpy as np

from .activations import log_softmax, shift_


class LossBuffers:
    """What softmax_cross_entropy_ works in for (m, k) logits: given them, it allocates nothing."""

    def __init__(self, m, k, dtype):
        self.row = np.empty((m, 1), dtype)  # row maxima, then row sums of exp
        self.wide = np.empty((m, k), dtype)  # self.row spread along each row (see shift_)
        self.target = np.empty(m, dtype)  # the true class's shifted logit, then its probability
        self.losses = np.empty(m, dtype)
        self.row_start = np.arange(0, m * k, k)  # flat position of each row's first logit
        self.flat = np.empty(m, np.intp)  # flat position of each row's true class


def softmax_cross_entropy_(logits, y, *, scale=1.0, buffers=None):
    """Per-row cross-entropy of integer labels y, turning logits into the gradient.

    Overwrites ``logits`` (m, k), C-contiguous, with ``scale * (p - onehot(y)) / m``,
    the gradient of the mean loss times ``scale`` (the fused SGD step passes
    -lr), and returns the per-row losses (m,), in ``buffers.losses`` if given
    (a LossBuffers for this m; reused by the next call). Uses log-sum-exp, so
    it is finite for any finite logits.
    """
    m, k = logits.shape
    if not logits.flags.c_contiguous:
        raise ValueError("softmax_cross_entropy_ needs C-contiguous logits")
    if m and not 0 <= y.min() <= y.max() < k:
        raise IndexError(f"labels must be in 0..{k - 1}, got {y.min()}..{y.max()}")
    b = buffers if buffers is not None else LossBuffers(m, k, logits.dtype)
    flat = logits.reshape(-1)  # a view
    shift_(logits, b.row, b.wide)
    np.add(b.row_start, y, out=b.flat)
    np.take(flat, b.flat, out=b.target, mode="clip")  # raise mode would copy
    np.exp(logits, out=logits)
    np.sum(logits, axis=1, keepdims=True, out=b.row)
    np.log(b.row[:, 0], out=b.losses)
    b.losses -= b.target
    np.copyto(b.wide, b.row)
    logits /= b.wide  # now p
    np.take(flat, b.flat, out=b.target, mode="clip")  # raise mode would copy
    b.target -= 1
    np.put(flat, b.flat, b.target)
    logits *= logits.dtype.type(scale / m)
    return b.losses


def cross_entropy(logits, y):
    """Per-row cross-entropy of integer labels y; does not modify logits."""
    return -log_softmax(logits)[np.arange(len(y)), y]


def l2_penalty(weights, lam):
    """(lambda / 2) * sum of squared entries of the weight matrices."""
    return 0.5 * lam * sum(float(np.vdot(w, w)) for w in weights)
