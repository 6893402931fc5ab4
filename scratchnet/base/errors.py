"""Every error scratchnet raises for bad input or bad numbers, in one place.

The network's errors state facts (a file, an epoch, a number, the hyperparameters
involved); the train stage turns them into advice about params.yaml keys. Every
entry point's boundary (boundary.py) turns a ScratchnetError into one ``error:`` line.
"""


class ScratchnetError(Exception):
    """Base class: the message is written for the user and names what is wrong."""


class ParamsError(ScratchnetError):
    """A key, type or value in params.yaml (or a tool's argument) is not allowed."""


class DataError(ScratchnetError):
    """A data file is missing, corrupt or has the wrong content."""


class ModelFileError(ScratchnetError):
    """A model file cannot be read as a scratchnet model."""


class InputError(ScratchnetError):
    """A file handed to `scratchnet predict` cannot be read as a digit."""


class TrainingError(ScratchnetError):
    """Training failed in a way a params.yaml change can fix (divergence, with advice)."""


class DivergenceError(ScratchnetError):
    """Training produced a NaN or infinite number.

    ``quantity`` names what went non-finite first (for example "training loss" or
    "velocity"), ``epoch`` when, ``lr`` the learning rate in force, and ``suspects`` the
    names of the optimizer's hyperparameters that can make that quantity blow up.
    """

    def __init__(self, quantity: str, value: object, epoch: int, lr: float, suspects: tuple[str, ...] = ()):
        self.quantity, self.value, self.epoch, self.lr, self.suspects = quantity, value, epoch, lr, suspects
        super().__init__(f"training diverged in epoch {epoch}: the {quantity} became {value} (learning rate {lr:g})")
