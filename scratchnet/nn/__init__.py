"""The network from scratch: NumPy, the standard library and scratchnet.base only.

model (the MLP: the one training step, its forward and backward, inference), activations,
losses, init; optim/ (the optimizers as update rules: base, sgd, momentum, adam, the
schedules, and the OPTIMIZERS and SCHEDULES registries); kernels/ (the CPU kernels under
them: blas, the sgemm of NumPy's own OpenBLAS; products, a step's planned matrix products;
inplace, blocked elementwise updates; fpu, flushing subnormals); fit (the loop with early
stopping), checkpoint (.npz files with their configuration). Nothing here knows about
params.yaml, DVC or MNIST; a test keeps its imports to these.
"""
