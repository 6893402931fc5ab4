"""The network from scratch: NumPy and the standard library only.

model (the MLP and backprop), activations, losses, init, optim and schedules
(name -> class registries), train (the loop with early stopping), checkpoint
(.npz files with their configuration). Nothing here knows about params.yaml,
DVC or MNIST; a test keeps its imports to NumPy and the standard library.
"""
