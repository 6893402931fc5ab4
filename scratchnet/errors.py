"""The errors scratchnet raises for bad input; stages turn them into one line and exit 1."""


class ScratchnetError(Exception):
    """Base class: the message is written for the user and names what is wrong."""


class ParamsError(ScratchnetError):
    """A key, type or value in params.yaml is not allowed."""


class DataError(ScratchnetError):
    """A data file is missing, corrupt or has the wrong content."""


class ModelFileError(ScratchnetError):
    """A model file cannot be read as a scratchnet model."""


class DivergenceError(ScratchnetError):
    """Training produced a NaN or infinite loss."""


class InputError(ScratchnetError):
    """A file handed to `scratchnet predict` cannot be read as a digit."""
