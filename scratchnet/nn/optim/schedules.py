"""Learning-rate schedules: the factor of the base learning rate in each epoch; SCHEDULES names them.

A schedule is called as ``schedule(epoch, epochs)`` (epochs counted from 1 up to the
most the run may take) and declares its own hyperparameters (base/constraints.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...base.constraints import Interval, hyperparameter


@dataclass(frozen=True)
class Constant:
    """The base learning rate throughout (the reference's setting)."""

    def __call__(self, epoch: int, epochs: int) -> float:
        return 1.0


@dataclass(frozen=True)
class StepDecay:
    """step_gamma ** (completed step_every-epoch periods)."""

    step_every: int = hyperparameter(Interval(int, 1, 1_000_000))
    step_gamma: float = hyperparameter(Interval(float, 0, 1, closed="right", float32=True))

    def __call__(self, epoch: int, epochs: int) -> float:
        return self.step_gamma ** ((epoch - 1) // self.step_every)


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing from 1 towards 0 over the run's epochs (Loshchilov & Hutter, 2017, without restarts)."""

    def __call__(self, epoch: int, epochs: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))


SCHEDULES: dict[str, type] = {"none": Constant, "step": StepDecay, "cosine": Cosine}
