"""The BLAS thread count of a stage, fixed for the run (train.threads, evaluate.threads).

OpenBLAS splits a matrix product differently for another number of threads, which
changes the last bits of float32 sums: the same params and thread count give
bit-identical results, another thread count gives results equal to ~1e-6.
"""
import contextlib


@contextlib.contextmanager
def blas_threads(n):
    """Run the block with ``n`` BLAS threads (threadpoolctl, the library scikit-learn uses)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=n, user_api="blas"):
        yield
