"""scratchnet: a NumPy-only multilayer perceptron for MNIST, and the DVC pipeline around it.

The public API of the network, importable from here::

    from scratchnet import MLP, SGD, FitConfig, fit, save, load

Sub-packages: ``nn`` (the network, NumPy only), ``mnist`` (data sources and the
split), ``pipeline`` (params.yaml as typed config, outputs, errors, the stage
runner), ``report`` (metrics and figures), ``predict`` (classify your own
pictures), ``tools`` (bench, compare, sweep).

The names below are imported on first use (PEP 562), so that importing one
sub-package, as each DVC stage does, runs no code of the others.
"""
import importlib

_API = {
    "MLP": "nn.model", "SGD": "nn.optim", "Momentum": "nn.optim", "Adam": "nn.optim",
    "OPTIMIZERS": "nn.optim", "make_optimizer": "nn.optim", "SCHEDULES": "nn.schedules",
    "make_schedule": "nn.schedules", "FitConfig": "nn.train", "History": "nn.train", "fit": "nn.train",
    "save": "nn.checkpoint", "load": "nn.checkpoint",
}
__all__ = list(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'scratchnet' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)


def __dir__():
    return sorted(__all__)
