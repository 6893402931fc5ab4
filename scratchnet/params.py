"""Read params.yaml and validate every key before a stage does any work.

params.yaml is the only source of hyperparameters: this module holds what each
key may be, never a default value. Errors name the key, the bad value and what
is allowed. A number that ``dvc exp run -S`` wrote back as a string ("1e-4")
is read as the number it spells; any other string where a number belongs is
an error.
"""
import difflib
import math
import os

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import ParamsError


class Rule:
    def __init__(self, kind, allowed, check=None, choices=None):
        self.kind, self.allowed, self.check, self.choices = kind, allowed, check, choices

    def parse(self, value):
        """Return the value converted to this rule's kind, or None if it cannot be."""
        if self.kind == "int":
            value = _number(value)
            if isinstance(value, float) and value.is_integer():
                return None  # 64.0 for a count is more likely a mistake than intended
            return value if isinstance(value, int) else None
        if self.kind == "float":
            value = _number(value)
            return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
        if self.kind == "bool":
            return value if isinstance(value, bool) else None
        if self.kind == "str":
            return value if isinstance(value, str) else None
        if self.kind == "choice":
            return value if value in self.choices else None
        if self.kind == "ints":
            if not isinstance(value, list):
                return None
            items = [Rule("int", "").parse(v) for v in value]
            return None if any(v is None for v in items) else items
        raise AssertionError(self.kind)


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return value if isinstance(value, (int, float)) else None


def _between(lo, hi, lo_open=False, hi_open=True):
    def check(v):
        return (v > lo if lo_open else v >= lo) and (hi is None or (v < hi if hi_open else v <= hi))
    return check


SCHEMA = {
    "data": {
        "source": Rule("choice", "one of openml, idx, sample", choices=("openml", "idx", "sample")),
        "idx_dir": Rule("str", "a directory path (may be empty unless source is idx)"),
    },
    "split": {
        "seed": Rule("int", "an integer >= 0", _between(0, None)),
        "val_fraction": Rule("float", "a number in (0, 1)", _between(0, 1, lo_open=True)),
        "test_fraction": Rule("float", "a number in (0, 1)", _between(0, 1, lo_open=True)),
    },
    "model": {
        "hidden_sizes": Rule("ints", "a non-empty list of positive integers",
                             lambda v: len(v) > 0 and all(s > 0 for s in v)),
        "init_seed": Rule("int", "an integer >= 0", _between(0, None)),
        "dropout": Rule("float", "a number in [0, 1)", _between(0, 1)),
    },
    "train": {
        "epochs": Rule("int", "an integer >= 1", _between(1, None)),
        "batch_size": Rule("int", "an integer >= 1", _between(1, None)),
        "lr": Rule("float", "a number > 0", _between(0, None, lo_open=True)),
        "lambda": Rule("float", "a number >= 0", _between(0, None)),
        "patience": Rule("int", "an integer >= 0", _between(0, None)),
        "tol": Rule("float", "a number >= 0", _between(0, None)),
        "seed": Rule("int", "an integer >= 0", _between(0, None)),
        "optimizer": Rule("choice", "one of sgd, momentum, adam", choices=("sgd", "momentum", "adam")),
        "momentum": Rule("float", "a number in [0, 1)", _between(0, 1)),
        "nesterov": Rule("bool", "true or false"),
        "beta1": Rule("float", "a number in [0, 1)", _between(0, 1)),
        "beta2": Rule("float", "a number in [0, 1)", _between(0, 1)),
        "eps": Rule("float", "a number > 0", _between(0, None, lo_open=True)),
        "schedule": Rule("choice", "one of none, step, cosine", choices=("none", "step", "cosine")),
        "step_every": Rule("int", "an integer >= 1", _between(1, None)),
        "step_gamma": Rule("float", "a number in (0, 1]", _between(0, 1, lo_open=True, hi_open=False)),
    },
    "evaluate": {
        "calibration_bins": Rule("int", "an integer >= 2", _between(2, None)),
        "n_misclassified": Rule("int", "an integer >= 1", _between(1, None)),
        "n_features": Rule("int", "an integer >= 1", _between(1, None)),
    },
}


def _suggest(name, known):
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def validate(raw, where="params.yaml", check_files=False):
    """Return a validated copy of ``raw`` (the parsed YAML); ParamsError lists every problem.

    With ``check_files`` (the fetch stage), ``data.source: idx`` also needs ``data.idx_dir``
    to hold the four IDX files; the later stages never read them, so they do not check.
    """
    problems = []
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected sections {', '.join(SCHEMA)}, found {type(raw).__name__}")
    out = {}
    for section, keys in raw.items():
        if section not in SCHEMA:
            problems.append(f"unknown section '{section}'{_suggest(str(section), list(SCHEMA))}")
            continue
        if not isinstance(keys, dict):
            problems.append(f"section '{section}' must be a mapping of keys, got {keys!r}")
            continue
        known = [f"{section}.{k}" for k in SCHEMA[section]]
        out[section] = {}
        for key, value in keys.items():
            name = f"{section}.{key}"
            rule = SCHEMA[section].get(key)
            if rule is None:
                problems.append(f"unknown key {name}{_suggest(name, known)}")
                continue
            parsed = rule.parse(value)
            if parsed is None or (rule.check is not None and not rule.check(parsed)):
                problems.append(f"{name} = {value!r} is not allowed: expected {rule.allowed}")
            else:
                out[section][key] = parsed
        problems += [f"missing key {section}.{k} ({SCHEMA[section][k].allowed})"
                     for k in SCHEMA[section] if k not in keys]
    problems += [f"missing section '{s}'" for s in SCHEMA if s not in raw]
    if not problems:
        problems += _cross_checks(out, check_files)
    if problems:
        raise ParamsError(f"{where}: " + "\n  ".join(problems) if len(problems) == 1 else
                          f"{where} has {len(problems)} problems:\n  " + "\n  ".join(problems))
    return out


def _cross_checks(p, check_files):
    problems = []
    total = p["split"]["val_fraction"] + p["split"]["test_fraction"]
    if total >= 1:
        problems.append(f"split.val_fraction + split.test_fraction = {total:g} is not allowed: "
                        "expected a sum < 1 (something must be left to train on)")
    if check_files and p["data"]["source"] == "idx":
        from .data import idx_problem
        problem = idx_problem(p["data"]["idx_dir"])
        if problem:
            problems.append(f"data.idx_dir = {p['data']['idx_dir']!r} is not allowed with data.source idx: {problem}")
    return problems


def load(path="params.yaml", check_files=False):
    """Read and validate ``path``; ParamsError for a missing, unparsable or invalid file."""
    if not os.path.exists(path):
        raise ParamsError(f"{path}: no such file (run from the repository root)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = YAML(typ="safe", pure=True).load(f)
    except YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    return validate(raw, path, check_files)
