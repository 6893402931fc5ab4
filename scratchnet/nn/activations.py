"""Activation functions, each working in place on a preallocated buffer.

As in scikit-learn's MLP, the derivative of ReLU is taken from the
activation's *output*: a unit passed gradient iff its output was positive.
"""
import numpy as np


def relu_(z):
    """ReLU in place: z <- max(z, 0). Returns z."""
    return np.maximum(z, 0, out=z)


def relu_backward_(delta, activation):
    """Multiply delta in place by ReLU's derivative, read off its output."""
    # A boolean mask is 1 byte an element and multiplies without a cast to float.
    delta *= activation > 0
    return delta


def shift_(logits):
    """Subtract each row's maximum in place; returns logits.

    Every softmax and log-softmax here starts with this: it keeps every exponent
    <= 0, so logits of any size (even +-1e4 in float32) give no overflow, NaN or inf.
    """
    logits -= logits.max(axis=-1, keepdims=True)
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
