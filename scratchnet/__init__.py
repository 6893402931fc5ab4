"""scratchnet: a NumPy-only multilayer perceptron."""
