"""Hyperparameter declarations: what a value may be, written once, next to what it configures.

As scikit-learn keeps ``_parameter_constraints`` on each estimator, every class
that takes hyperparameters (an optimizer, a schedule, the distortions, FitConfig)
declares them as dataclass fields with a constraint::

    momentum: float = hyperparameter(Interval(float, 0, 1, closed="left", float32=True))

The params schema (config/) reads these declarations to validate params.yaml
and to write its messages; ``check(obj)`` applies them to an object built in code.
A constraint converts a raw value (from YAML, or a string that `dvc exp run -S`
wrote back, like "1e-4") and checks it before anything is built from it: a
number is range-checked as the exact value it spells, before it becomes a float,
so ``10**400`` is refused, not turned into infinity or an OverflowError.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)  # the smallest normal float32


class Invalid(ValueError):
    """A value a constraint does not allow; the message says what is allowed."""


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _exact_number(value: Any) -> tuple[int | Fraction, bool] | None:
    """(the exact number a YAML value spells, whether it is written as an integer), or None.

    Bools are not numbers; a string counts if it is a decimal literal ("64", "1e-4", "0.5"),
    which is how `dvc exp run -S` writes some numbers back; "inf", "nan" and "1/3" are not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value, True
    if isinstance(value, float):
        return (Fraction(value), False) if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64:
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text), True
        if _DECIMAL.fullmatch(text) and len(text) <= 40:
            exponent = re.search(r"[eE]([+-]?\d+)", text)
            if exponent is None or abs(int(exponent.group(1))) <= 400:  # beyond: too large or small to be a value
                return Fraction(text), False
    return None


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (int or float) between ``low`` and ``high`` (None: unbounded).

    ``closed`` says which ends belong ("both", "left", "right", "neither"). With ``float32``,
    the value must keep to the bounds as float32 holds it too (training computes in float32:
    lr 1e-50 is 0 there, and a positive value must stay a normal float32).
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"
    float32: bool = False
    words: str = ""  # what is allowed, in words, where the bounds alone would say it less well

    def convert(self, raw: Any) -> Any:
        parsed = _exact_number(raw)
        if parsed is None or (self.kind is int and not parsed[1]):
            raise Invalid(self.describe())  # 64.0 for a count is more likely a mistake than 64
        number = parsed[0]
        if not self._within(number):
            raise Invalid(self.describe())
        if self.kind is int:
            return int(number)
        value = float(number)  # within the bounds, so finite
        if self.float32 and not self._within(Fraction(float(np.float32(value)))):
            raise Invalid(self.describe())
        return value

    def _within(self, number: int | Fraction) -> bool:
        low_ok = self.low is None or (number >= self.low if self.closed in ("both", "left") else number > self.low)
        high_ok = self.high is None or (number <= self.high if self.closed in ("both", "right") else number < self.high)
        magnitude = abs(Fraction(number))
        if magnitude > Fraction(FLOAT32_MAX if self.float32 else 1e300):  # beyond any bound we declare
            return False
        if self.float32 and magnitude != 0 and magnitude < Fraction(FLOAT32_TINY):
            return False
        return low_ok and high_ok

    def describe(self) -> str:
        if self.words:
            return self.words
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            if self.kind is int and self.closed == "both":
                text = f"{noun} in {_number(self.low)}..{_number(self.high)}"
            else:
                text = f"{noun} in {left}{_number(self.low)}, {_number(self.high)}{right}"
        elif self.low is not None:
            text = f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {_number(self.low)}"
        elif self.high is not None:
            text = f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {_number(self.high)}"
        else:
            text = noun
        return text + (", also in float32" if self.float32 else "")


def _number(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10_000 else f"{x:g}"


@dataclass(frozen=True)
class Boolean:
    """true or false (YAML's booleans; `dvc exp run -S key=true` writes one)."""

    def convert(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        raise Invalid(self.describe())

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Text:
    """A string (what it names is checked elsewhere, for example a directory by its data source)."""

    meaning: str = "a string"

    def convert(self, raw: Any) -> str:
        if isinstance(raw, str) and len(raw) <= 4096:
            return raw
        raise Invalid(self.describe())

    def describe(self) -> str:
        return self.meaning


@dataclass(frozen=True)
class Choice:
    """One of the names of a registry (name -> class); ``registry`` is called when a value is checked,
    so the registry is imported only by whoever validates the key."""

    registry: Callable[[], Mapping[str, Any]]

    def convert(self, raw: Any) -> str:
        names = self.registry()
        if isinstance(raw, str) and raw in names:
            return raw
        raise Invalid(self.describe())

    def describe(self) -> str:
        return f"one of {', '.join(self.registry())}"


@dataclass(frozen=True)
class IntList:
    """A non-empty list of integers, each ``item`` (an Interval), that ``check`` (with its words) accepts."""

    item: Interval
    max_length: int
    check: Callable[[tuple[int, ...]], bool] = lambda values: True
    words: str = ""

    def convert(self, raw: Any) -> tuple[int, ...]:
        if not isinstance(raw, list) or not 0 < len(raw) <= self.max_length:
            raise Invalid(self.describe())
        try:
            values = tuple(self.item.convert(v) for v in raw)
        except Invalid:
            raise Invalid(self.describe()) from None
        if not self.check(values):
            raise Invalid(self.describe())
        return values

    def describe(self) -> str:
        return (
            f"a non-empty list of at most {self.max_length} integers "
            f"{self.item.describe().removeprefix('an integer ')}" + (f", {self.words}" if self.words else "")
        )


Constraint = Interval | Boolean | Text | Choice | IntList


def hyperparameter(
    constraint: Constraint, *, key: str | None = None, default: Any = dataclasses.MISSING, kw_only: bool = False
) -> Any:
    """A dataclass field declared with its constraint; ``key`` is its params.yaml name where it
    differs from the field's name (``weight_decay`` is ``train.lambda``)."""
    return dataclasses.field(default=default, kw_only=kw_only, metadata={"constraint": constraint, "key": key})


def declared(cls: type) -> dict[str, tuple[str, Constraint]]:
    """{params.yaml key: (field name, constraint)} of the fields ``cls`` declares with ``hyperparameter``."""
    return {
        f.metadata["key"] or f.name: (f.name, f.metadata["constraint"])
        for f in dataclasses.fields(cls)
        if "constraint" in f.metadata
    }


def arguments(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """{field name: value} of the fields ``cls`` declares, from ``values`` keyed as params.yaml spells them."""
    return {name: values[key] for key, (name, _) in declared(cls).items()}


def check(obj: Any, skip: tuple[str, ...] = ()) -> None:
    """Invalid naming the field unless every declared field of ``obj`` (but those named in ``skip``)
    keeps to its constraint (for objects built in code rather than from params.yaml)."""
    for name, constraint in declared(type(obj)).values():
        if name in skip:
            continue
        value = getattr(obj, name)
        raw = list(value) if isinstance(value, tuple) else value
        try:
            constraint.convert(raw)
        except Invalid as e:
            raise Invalid(f"{type(obj).__name__}.{name} = {short(value)}: expected {e}") from None


class _Bounded(reprlib.Repr):
    """reprlib's bounded repr, and integers too long to print (Python refuses str() of 4,301 digits) by size."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 14_000:  # about 4,200 digits: near the most str() prints (sys.get_int_max_str_digits)
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1:,} digits>"
        return super().repr_int(x, level)


def short(value: Any) -> str:
    """repr of a value from a file, bounded (a YAML alias bomb expands to millions of items)."""
    bounded = _Bounded()
    bounded.maxlevel, bounded.maxlist, bounded.maxdict, bounded.maxstring, bounded.maxother = 2, 6, 6, 60, 60
    return bounded.repr(value)


# Seeds: scikit-learn's random_state takes seeds below 2**32; every seed here keeps to it.
SEED = Interval(int, 0, 2**32, closed="left", words="an integer in [0, 2**32)")
