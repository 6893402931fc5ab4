"""The errors the network raises. They state facts (a file, an epoch, a number);
the pipeline turns them into advice about params.yaml keys.

ScratchnetError is the base of every error scratchnet raises for bad input or
bad numbers: the entry points turn it into one ``error:`` line.
"""


class ScratchnetError(Exception):
    """Base class: the message is written for the user and names what is wrong."""


class ModelFileError(ScratchnetError):
    """A model file cannot be read as a scratchnet model."""


class DivergenceError(ScratchnetError):
    """Training produced a NaN or infinite number.

    ``quantity`` names what went non-finite first (for example "training loss"),
    ``epoch`` when, ``lr`` the learning rate in force.
    """

    def __init__(self, quantity, value, epoch, lr):
        self.quantity, self.value, self.epoch, self.lr = quantity, value, epoch, lr
        super().__init__(f"training diverged in epoch {epoch}: the {quantity} became {value} "
                         f"(learning rate {lr:g})")
