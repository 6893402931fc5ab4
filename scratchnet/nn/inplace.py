"""``a += alpha * b`` in place, one cache-sized block at a time.

A whole-array ufunc streams its operands through memory once per call, so for
the 784x512 float32 weights (1.6 MB, more than a core's L2 cache) the two calls
of ``a += alpha * b`` cost three trips to memory. Making the same two calls
block by block keeps each block cached between them: the same arithmetic,
bit-identical results, and the weight update about 1.7x faster (make bench).
"""
import numpy as np

BLOCK = 32_768  # elements: 128 KB of float32 per operand


def scratch(dtype):
    """The buffer axpy_ needs: allocate it once, next to the arrays it will serve."""
    return np.empty(BLOCK, dtype)


def axpy_(a, alpha, b, buffer):
    """a += alpha * b (elementwise, a and b C-contiguous of one shape); returns a."""
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    alpha = a.dtype.type(alpha)
    for start in range(0, flat_a.size, BLOCK):
        block_a, block_b = flat_a[start:start + BLOCK], flat_b[start:start + BLOCK]
        scaled = np.multiply(block_b, alpha, out=buffer[:block_b.size])
        np.add(block_a, scaled, out=block_a)
    return a
