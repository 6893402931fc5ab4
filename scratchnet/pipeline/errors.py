"""Every error scratchnet raises for bad input, in one place.

The network's own errors (nn/errors.py) state facts; these are the pipeline's.
An entry point (stage.run) turns any of them into one ``error:`` line.
"""
from ..nn.errors import DivergenceError, ModelFileError, ScratchnetError

__all__ = ["ScratchnetError", "ModelFileError", "DivergenceError", "ParamsError", "DataError", "InputError",
           "TrainingError"]


class ParamsError(ScratchnetError):
    """A key, type or value in params.yaml is not allowed."""


class DataError(ScratchnetError):
    """A data file is missing, corrupt or has the wrong content."""


class InputError(ScratchnetError):
    """A file handed to `scratchnet predict` cannot be read as a digit."""


class TrainingError(ScratchnetError):
    """Training failed in a way a params.yaml change can fix (divergence, with advice)."""
