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


def softmax_cross_entropy_(logits, y):
    """Per-row cross-entropy of integer labels y, turning logits into the gradient.

    Overwrites ``logits`` (m, k) with ``(p - onehot(y)) / m``, the gradient of the
    mean loss, and returns the per-row losses (m,). Uses log-sum-exp, so it is
    finite for any finite logits.
    """
    m = logits.shape[0]
    rows = np.arange(m)
    shift_(logits)
    target = logits[rows, y]  # shifted logit of the true class (a copy)
    np.exp(logits, out=logits)
    total = logits.sum(axis=1)
    losses = np.log(total) - target
    logits /= total[:, None]  # now p
    logits[rows, y] -= 1
    logits *= logits.dtype.type(1.0 / m)
    return losses


def cross_entropy(logits, y):
    """Per-row cross-entropy of integer labels y; does not modify logits."""
    return -log_softmax(logits)[np.arange(len(y)), y]


def l2_penalty(weights, lam):
    """(lambda / 2) * sum of squared entries of the weight matrices."""
    return 0.5 * lam * sum(float(np.vdot(w, w)) for w in weights)
