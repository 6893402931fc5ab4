"""The network from scratch: NumPy, the standard library and scratchnet.base only.

model (the MLP: one forward, one backward, inference), products (the matrix
products of a step: matmul, or the sgemm of NumPy's own OpenBLAS from blas),
activations, losses, init, inplace (blocked elementwise updates); optimizer (what
an optimizer is: it owns its step), sgd (plain SGD fused into backprop), momentum,
adam, optim (OPTIMIZERS, by name), schedules (SCHEDULES); fit (the loop with early
stopping), checkpoint (.npz files with their configuration). Nothing here knows
about params.yaml, DVC or MNIST; a test keeps its imports to these.
"""
