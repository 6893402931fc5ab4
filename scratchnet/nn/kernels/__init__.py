"""The CPU kernels under the network: blas (the sgemm of NumPy's own OpenBLAS, and its thread
count), products (a training step's matrix products, planned per batch buffer), inplace (blocked
elementwise updates) and fpu (flushing subnormals). NumPy and the standard library only."""
