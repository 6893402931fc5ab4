"""He initialization: W ~ N(0, 2 / fan_in), biases 0 (He et al., 2015)."""

import numpy as np


def he_init(sizes, rng, dtype=np.float32):
    """Weights (fan_in, fan_out) and zero biases for consecutive layer sizes.

    Draws in float64 from ``rng`` and casts, so the same seed gives the same
    network in float32 and float64 (the gradient check relies on this).
    """
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        weights.append(w.astype(dtype))
        biases.append(np.zeros(fan_out, dtype=dtype))
    return weights, biases
