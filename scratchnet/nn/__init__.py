"""The network from scratch: NumPy and the standard library only.

model (the MLP and backprop), activations, losses, init, optim and schedules
(name -> class registries), fused (plain SGD fused into backprop) and blas (the
sgemm of NumPy's own OpenBLAS it uses, through ctypes), inplace (blocked
updates), train (the loop with early stopping), checkpoint (.npz files with
their configuration). Nothing here knows about params.yaml,
DVC or MNIST; a test keeps its imports to NumPy and the standard library.
"""
