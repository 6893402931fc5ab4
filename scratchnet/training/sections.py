"""params.yaml's model and train sections, built from what the network's classes declare.

The train section's keys are flat (``train.lr``, ``train.momentum``, ``train.step_every``,
``train.affine_shift``...), as DVC users write them with ``-S``; each belongs to the class
that declares it: FitConfig (the loop), an optimizer in OPTIMIZERS (``lr``, ``lambda`` as its
``weight_decay``, its own keys), a schedule in SCHEDULES (which the optimizer holds), or the
Distortion. Every declared key must be in params.yaml, whichever
optimizer or schedule is chosen, so params.yaml stays the one place of every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..base.constraints import SEED, Choice, Constraint, Interval, IntList, arguments, declared, hyperparameter
from ..base.formats import N_CLASSES, N_PIXELS
from ..nn.fit import FitConfig
from ..nn.kernels.blas import THREADS
from ..nn.optim import OPTIMIZERS, SCHEDULES, Optimizer
from .distort import Distortion

MAX_LAYERS, MAX_UNITS, MAX_WEIGHTS = 16, 16_384, 50_000_000  # ~1 GB of training state at most


def _network_fits(sizes: tuple[int, ...]) -> bool:
    layers = [N_PIXELS, *sizes, N_CLASSES]
    return sum(a * b for a, b in zip(layers[:-1], layers[1:])) <= MAX_WEIGHTS


@dataclass(frozen=True)
class ModelParams:
    """params.yaml's model section."""

    SECTION: ClassVar[str] = "model"
    hidden_sizes: tuple[int, ...] = hyperparameter(
        IntList(
            Interval(int, 1, MAX_UNITS, words=f"an integer in 1..{MAX_UNITS}"),
            MAX_LAYERS,
            _network_fits,
            f"with at most {MAX_WEIGHTS:,} weights in all between {N_PIXELS} inputs and {N_CLASSES} outputs",
        )
    )
    init_seed: int = hyperparameter(SEED)
    dropout: float = hyperparameter(Interval(float, 0, 1, closed="left"))
    input_dropout: float = hyperparameter(Interval(float, 0, 1, closed="left"))


def _merge(into: dict[str, Constraint], cls: type) -> None:
    for key, (_, constraint) in declared(cls).items():
        if into.setdefault(key, constraint) != constraint:
            raise TypeError(f"train.{key} is declared twice, differently (by {cls.__name__} and another class)")


@dataclass(frozen=True)
class TrainParams:
    """params.yaml's train section: the loop's settings, the optimizer (its learning rate, schedule
    and weight decay: the run trains with this very object, and advice reads it), the distortions
    (None: off), the BLAS threads, and every value as params.yaml spells it."""

    SECTION: ClassVar[str] = "train"
    fit: FitConfig
    optimizer: Optimizer
    distortion: Distortion | None
    threads: int
    values: Mapping[str, Any]

    @classmethod
    def keys(cls) -> dict[str, Constraint]:
        keys: dict[str, Constraint] = {}
        declaring_classes: list[type] = [FitConfig, Distortion, *OPTIMIZERS.values(), *SCHEDULES.values()]
        for declaring in declaring_classes:
            _merge(keys, declaring)
        return {
            **keys,
            "optimizer": Choice(lambda: OPTIMIZERS),
            "schedule": Choice(lambda: SCHEDULES),
            "threads": THREADS,
        }

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> TrainParams:
        schedule_class, optimizer_class = SCHEDULES[values["schedule"]], OPTIMIZERS[values["optimizer"]]
        schedule = schedule_class(**arguments(schedule_class, values))
        return cls(
            fit=FitConfig(**arguments(FitConfig, values)),
            optimizer=optimizer_class(**arguments(optimizer_class, values), schedule=schedule),
            distortion=Distortion.from_values(values),
            threads=values["threads"],
            values=dict(values),
        )
