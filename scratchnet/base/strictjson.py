"""Strict JSON, both ways: no NaN or Infinity (JSON has neither), no number a float cannot hold,
no integer beyond 64 bits, no nesting deeper than a configuration needs.

Python's json module reads ``NaN``, ``Infinity`` and ``1e400`` (as infinity) and writes NaN
unless told not to; a model file's configuration or a metrics file holding them would pass
one reader and break the next. ``loads`` raises ValueError saying what it found.
"""

import json
import math
from typing import Any

MAX_DEPTH = 64  # a scratchnet configuration is 2 levels deep; 64 leaves room for anyone's
MAX_INTEGER = 2**63


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is beyond what a float holds")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) >= MAX_INTEGER:
        raise ValueError(f"the integer {text[:40]}{'...' if len(text) > 40 else ''} is beyond 64 bits")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [
            v
            for item in level
            if isinstance(item, (dict, list))
            for v in (item.values() if isinstance(item, dict) else item)
        ]
    return depth - 1


def loads(text: str) -> Any:
    """The JSON value ``text`` holds; ValueError (json.JSONDecodeError for bad syntax) otherwise."""
    try:
        value = json.loads(text, parse_float=_finite, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def dumps(obj: Any) -> str:
    """``obj`` as strict, indented JSON text; ValueError naming the first NaN or infinite number's key."""
    try:
        return json.dumps(obj, indent=2, allow_nan=False) + "\n"
    except ValueError:
        where = _first_nonfinite(obj)
        if where is None:
            raise
        raise ValueError(f"{where or 'the value'} is not a finite number, which JSON cannot hold") from None


def _first_nonfinite(obj: Any, where: str = "") -> str | None:
    if isinstance(obj, float) and not math.isfinite(obj):
        return f"{where} = {obj}" if where else str(obj)
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = _first_nonfinite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
