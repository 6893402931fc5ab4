"""The rules a params.yaml value must follow: a type (from the field's annotation), a check,
choices from a registry; and the conversions that read numbers ``dvc exp run -S`` wrote as strings."""
import dataclasses
import math
import reprlib
import typing
from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Rule:
    allowed: str  # what is allowed, in words, for the error message
    check: typing.Callable = None  # value -> bool, after conversion to the field's type
    choices: typing.Callable = None  # () -> registry {name: class}; imported when the section is validated
    key: str = None  # the key in params.yaml where it differs from the field name


def rule(allowed, check=None, choices=None, key=None):
    return dataclasses.field(metadata={"rule": Rule(allowed, check, choices, key)})


def between(lo, hi=None, lo_open=False, hi_open=True, float32=False):
    """lo <= v < hi (or with the ends open/closed as asked); with ``float32``, the bounds hold for
    the value as float32 holds it too (training computes in float32: lr 1e-50 is 0 there)."""
    def check(v):
        with np.errstate(over="ignore"):  # 1e39 becomes inf in float32: refused below
            values = (v, float(np.float32(v))) if float32 else (v,)
        return all(math.isfinite(x) and (x > lo if lo_open else x >= lo)
                   and (hi is None or (x < hi if hi_open else x <= hi)) for x in values)
    return check


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return None
    return value if isinstance(value, (int, float)) else None


def _as_int(value):
    value = _number(value)
    return value if isinstance(value, int) else None  # 64.0 for a count is more likely a mistake


def _as_float(value):
    value = _number(value)
    return float(value) if value is not None and math.isfinite(value) else None


def _as_ints(value):
    if not isinstance(value, list):
        return None
    items = [_as_int(v) for v in value]
    return None if any(v is None for v in items) else tuple(items)


CONVERT = {int: _as_int, float: _as_float, bool: lambda v: v if isinstance(v, bool) else None,
           str: lambda v: v if isinstance(v, str) else None, tuple[int, ...]: _as_ints}


def short(value):
    """repr of a value from the file, bounded (a YAML alias bomb expands to millions of items)."""
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxstring, short.maxother = 2, 6, 6, 60, 60
    return short.repr(value)
