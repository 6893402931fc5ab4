"""The ground floor every other package may use: errors, hyperparameter constraints, the
formats stages hand each other, the bounded .npz reader, strict JSON, all-or-nothing outputs
and the error boundary of every entry point. NumPy and the standard library only."""
