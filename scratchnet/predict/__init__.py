"""`python -m scratchnet predict`: a user's pictures and arrays made MNIST-like and classified."""
