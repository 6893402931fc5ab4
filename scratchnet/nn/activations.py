"""Activation functions, each working in place on a preallocated buffer.

As in scikit-learn's MLP, the derivative of ReLU is taken from the
activation's *output*: a unit passed gradient iff its output was positive.
"""

import numpy as np


def relu_(z):
    """ReLU in place: z <- max(z, 0). Returns z."""
    return np.maximum(z, 0, out=z)


def relu_backward_(delta, activation, mask=None):
    """Multiply delta in place by ReLU's derivative, read off its output.

    A ReLU's output is >= 0, so its sign is the derivative: 1 where the unit passed, 0 where
    it did not. With ``mask``, a buffer shaped like delta, it allocates nothing (multiplying
    by a boolean array directly makes NumPy 2.4 allocate a cast buffer on every call).
    """
    if mask is None:
        delta *= activation > 0
    else:
        delta *= np.sign(activation, out=mask)
    return delta


def shift_(logits, row=None, wide=None):
    """Subtract each row's maximum in place; returns logits.

    Every softmax and log-softmax here starts with this: it keeps every exponent
    <= 0, so logits of any size (even +-1e4 in float32) give no overflow, NaN or inf.
    With buffers ``row`` (m, 1) and ``wide`` (m, k) it allocates nothing: NumPy 2.4
    allocates a buffer for an in-place operation with a broadcast operand, so the
    row maxima are first spread to the full width.
    """
    if row is None:
        logits -= logits.max(axis=-1, keepdims=True)
    else:
        np.max(logits, axis=-1, keepdims=True, out=row)
        np.copyto(wide, row)
        logits -= wide
    return logits


def log_softmax(logits):
    """log softmax(logits) along the last axis, via log-sum-exp (see shift_)."""
    shifted = shift_(logits.copy())
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits):
    """softmax(logits) along the last axis, computed stably (see shift_)."""
    shifted = shift_(logits.copy())
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted
