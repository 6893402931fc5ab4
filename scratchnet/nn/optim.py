"""Every optimizer by its params.yaml name (``train.optimizer``). Each declares its own
hyperparameters (optimizer.py); adding one is a class and an entry here."""

from .adam import Adam
from .momentum import Momentum
from .optimizer import Optimizer
from .sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
