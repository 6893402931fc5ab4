"""params.yaml as typed configuration: one frozen dataclass per section, validated on load.

params.yaml is the only source of hyperparameters: this module holds what each
key may be, never a default value. Each field carries its rule; choices (the
optimizer, the schedule, the data source) come from the registries that build
them, so adding an optimizer adds its name here by itself. Errors name the key,
the bad value and what is allowed. A number that ``dvc exp run -S`` wrote back
as a string ("1e-4") is read as the number it spells; any other string where a
number belongs is an error.

A stage validates the sections it reads (``load("model", "train")``), as DVC
tracks the params each stage declares; ``validate`` checks a whole file.
"""
import dataclasses
import difflib
import math
import os
import typing
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import ParamsError


# --- rules ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    allowed: str  # what is allowed, in words, for the error message
    check: typing.Callable = None  # value -> bool, after conversion to the field's type
    choices: typing.Callable = None  # () -> registry {name: class}; imported when the section is validated
    key: str = None  # the key in params.yaml where it differs from the field name


def rule(allowed, check=None, choices=None, key=None):
    return dataclasses.field(metadata={"rule": Rule(allowed, check, choices, key)})


def between(lo, hi=None, lo_open=False, hi_open=True):
    def check(v):
        return (v > lo if lo_open else v >= lo) and (hi is None or (v < hi if hi_open else v <= hi))
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


def _optimizers():
    from ..nn.optim import OPTIMIZERS
    return OPTIMIZERS


def _schedules():
    from ..nn.schedules import SCHEDULES
    return SCHEDULES


def _sources():
    from ..mnist.sources import SOURCES
    return SOURCES


# --- the sections ----------------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    source: str = rule("a data source", choices=_sources)
    idx_dir: str = rule("a directory path (may be empty unless source is idx)")


@dataclass(frozen=True)
class Split:
    seed: int = rule("an integer >= 0", between(0))
    val_fraction: float = rule("a number in (0, 1)", between(0, 1, lo_open=True))
    test_fraction: float = rule("a number in (0, 1)", between(0, 1, lo_open=True))


@dataclass(frozen=True)
class Model:
    hidden_sizes: tuple[int, ...] = rule("a non-empty list of positive integers",
                                         lambda v: len(v) > 0 and all(s > 0 for s in v))
    init_seed: int = rule("an integer >= 0", between(0))
    dropout: float = rule("a number in [0, 1)", between(0, 1))


@dataclass(frozen=True)
class Train:
    epochs: int = rule("an integer >= 1", between(1))
    batch_size: int = rule("an integer >= 1", between(1))
    lr: float = rule("a number > 0", between(0, lo_open=True))
    lam: float = rule("a number >= 0", between(0), key="lambda")
    patience: int = rule("an integer >= 0", between(0))
    tol: float = rule("a number >= 0", between(0))
    seed: int = rule("an integer >= 0", between(0))
    optimizer: str = rule("an optimizer", choices=_optimizers)
    momentum: float = rule("a number in [0, 1)", between(0, 1))
    nesterov: bool = rule("true or false")
    beta1: float = rule("a number in [0, 1)", between(0, 1))
    beta2: float = rule("a number in [0, 1)", between(0, 1))
    eps: float = rule("a number > 0", between(0, lo_open=True))
    schedule: str = rule("a learning-rate schedule", choices=_schedules)
    step_every: int = rule("an integer >= 1", between(1))
    step_gamma: float = rule("a number in (0, 1]", between(0, 1, lo_open=True, hi_open=False))


@dataclass(frozen=True)
class Evaluate:
    calibration_bins: int = rule("an integer >= 2", between(2))
    n_misclassified: int = rule("an integer >= 1", between(1))
    n_features: int = rule("an integer >= 1", between(1))


SECTIONS = {"data": Data, "split": Split, "model": Model, "train": Train, "evaluate": Evaluate}


@dataclass(frozen=True)
class Params:
    """The validated sections; a section not asked for is None."""
    data: Data = None
    split: Split = None
    model: Model = None
    train: Train = None
    evaluate: Evaluate = None


def keys(section_class):
    """{params.yaml key: (field name, Rule)} of a section."""
    out = {}
    for f in dataclasses.fields(section_class):
        r = f.metadata["rule"]
        out[r.key or f.name] = (f.name, r, typing.get_type_hints(section_class)[f.name])
    return out


def as_dict(section):
    """A section as params.yaml spells it ({"lambda": ...}, lists for tuples): for JSON records."""
    return {key: list(v) if isinstance(v := getattr(section, name), tuple) else v
            for key, (name, _, _) in keys(type(section)).items()}


# --- validation ----------------------------------------------------------------------

def _suggest(name, known):
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _section(name, values, problems):
    """The typed section ``name`` from its raw mapping, or None with ``problems`` extended."""
    schema = keys(SECTIONS[name])
    if not isinstance(values, dict):
        problems.append(f"section '{name}' must be a mapping of keys, got {values!r}")
        return None
    known = [f"{name}.{k}" for k in schema]
    fields, before = {}, len(problems)
    for key, value in values.items():
        dotted = f"{name}.{key}"
        if key not in schema:
            problems.append(f"unknown key {dotted}{_suggest(dotted, known)}")
            continue
        field_name, r, kind = schema[key]
        registry = r.choices() if r.choices else None
        parsed = CONVERT[kind](value)
        ok = parsed is not None and (registry is None or parsed in registry) and (r.check is None or r.check(parsed))
        if ok:
            fields[field_name] = parsed
        else:
            allowed = f"one of {', '.join(registry)}" if registry else r.allowed
            problems.append(f"{dotted} = {value!r} is not allowed: expected {allowed}")
    problems += [f"missing key {name}.{k} ({r.allowed})" for k, (_, r, _) in schema.items() if k not in values]
    return SECTIONS[name](**fields) if len(problems) == before else None


def validate(raw, where="params.yaml", sections=tuple(SECTIONS), check_files=False):
    """Params with ``sections`` validated from ``raw`` (the parsed YAML); ParamsError lists every problem.

    With ``check_files`` (the fetch stage), the data source's own files are checked
    too (``data.source: idx`` needs the four IDX files in ``data.idx_dir``).
    """
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected sections {', '.join(SECTIONS)}, found {type(raw).__name__}")
    problems = [f"unknown section '{s}'{_suggest(str(s), list(SECTIONS))}" for s in raw if s not in SECTIONS]
    problems += [f"missing section '{s}'" for s in sections if s not in raw]
    typed = {s: _section(s, raw[s], problems) for s in sections if s in raw}
    if not problems:
        problems += _cross_checks(typed, check_files)
    if problems:
        raise ParamsError(f"{where}: " + "\n  ".join(problems) if len(problems) == 1 else
                          f"{where} has {len(problems)} problems:\n  " + "\n  ".join(problems))
    return Params(**typed)


def _cross_checks(p, check_files):
    problems = []
    if "split" in p:
        total = p["split"].val_fraction + p["split"].test_fraction
        if total >= 1:
            problems.append(f"split.val_fraction + split.test_fraction = {total:g} is not allowed: "
                            "expected a sum < 1 (something must be left to train on)")
    if check_files and "data" in p:
        problem = _sources()[p["data"].source]().problem(p["data"])
        if problem:
            problems.append(problem)
    return problems


def load(*sections, path="params.yaml", check_files=False):
    """Read ``path`` and validate ``sections`` (all if none are named); ParamsError if anything is wrong."""
    if not os.path.exists(path):
        raise ParamsError(f"{path}: no such file (run from the repository root)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = YAML(typ="safe", pure=True).load(f)
    except YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    return validate(raw, path, sections or tuple(SECTIONS), check_files)
