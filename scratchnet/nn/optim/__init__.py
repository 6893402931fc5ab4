"""The optimizers, as update rules with their state (base: what an optimizer is; sgd, momentum,
adam), and the learning-rate schedules (schedules). OPTIMIZERS and SCHEDULES name them as
params.yaml does (``train.optimizer``, ``train.schedule``): adding one is a class and an entry."""

from .adam import Adam
from .base import Optimizer
from .momentum import Momentum
from .schedules import SCHEDULES, Constant, Cosine, StepDecay
from .sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}

__all__ = ["OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "Constant", "Cosine", "Momentum", "Optimizer", "StepDecay"]
