"""scratchnet: a NumPy-only multilayer perceptron for MNIST, and the DVC pipeline around it.

The public API of the network, importable from here::

    from scratchnet import MLP, SGD, Momentum, Adam, FitConfig, fit, save, load
    from scratchnet import MLPClassifier  # scikit-learn's estimator interface (needs scikit-learn)

Sub-packages, from the ground floor up: ``base`` (errors, constraints, formats,
atomic outputs, the error boundary), ``nn`` (the network, NumPy only), ``config``
(params.yaml read and validated); then what each stage runs: ``sources`` (fetch),
``splits`` (split), ``training`` (train), ``report`` (evaluate); ``predict`` (classify
your own pictures) and ``estimator`` (scikit-learn). The tools (bench, compare, sweep)
live beside the package, in the repository's ``tools/``.

The names below are imported on first use (PEP 562), so that importing one
sub-package, as each DVC stage does, runs no code of the others.
"""

import importlib

_API = {
    "MLP": "nn.model",
    "Optimizer": "nn.optim",
    "SGD": "nn.optim",
    "Momentum": "nn.optim",
    "Adam": "nn.optim",
    "OPTIMIZERS": "nn.optim",
    "SCHEDULES": "nn.optim",
    "Constant": "nn.optim",
    "StepDecay": "nn.optim",
    "Cosine": "nn.optim",
    "FitConfig": "nn.fit",
    "History": "nn.fit",
    "fit": "nn.fit",
    "save": "nn.checkpoint",
    "load": "nn.checkpoint",
    "MLPClassifier": "estimator",
}
__all__ = list(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'scratchnet' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)


def __dir__():
    return sorted(__all__)
