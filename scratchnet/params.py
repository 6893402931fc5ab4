"""params.yaml as a whole: every section's class, in the file's order, for the tools and tests that
read the whole file (each stage loads only the sections it reads, from the code that reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base.constraints import IntList
from .config import schema
from .report.sections import EvaluateParams
from .sources.registry import DataParams
from .splits import SplitParams
from .training.sections import ModelParams, TrainParams

SECTIONS = {c.SECTION: c for c in (DataParams, SplitParams, ModelParams, TrainParams, EvaluateParams)}
assert tuple(SECTIONS) == schema.SECTION_NAMES


@dataclass(frozen=True)
class Params:
    data: DataParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams


def validate(raw: Any, where: str = "params.yaml") -> Params:
    """Every section of ``raw`` (parsed YAML) built; ParamsError listing every problem."""
    return Params(*schema.validate(raw, *SECTIONS.values(), where=where))


def load(path: str = "params.yaml") -> Params:
    return Params(*schema.load(*SECTIONS.values(), path=path))


def integer_keys() -> set[str]:
    """The dotted keys whose values are integers (or lists of them), as their constraints declare."""
    return {
        f"{name}.{key}"
        for name, cls in SECTIONS.items()
        for key, constraint in schema.keys(cls).items()
        if getattr(constraint, "kind", None) is int or isinstance(constraint, IntList)
    }


def dotted_keys() -> list[str]:
    """Every dotted key (``train.lr``), in the sections' order."""
    return [f"{name}.{key}" for name, cls in SECTIONS.items() for key in schema.keys(cls)]
