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
import os
import stat
import typing
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .datafiles import N_CLASSES, N_PIXELS
from .errors import ParamsError
from .rules import CONVERT, between, rule, short

MAX_FILE_BYTES = 1 << 20  # a params.yaml larger than 1 MiB is not a params file
SEED_LIMIT = 2 ** 32  # scikit-learn's random_state takes seeds below 2**32; every seed here keeps to it
MAX_LAYERS, MAX_UNITS, MAX_WEIGHTS = 16, 16_384, 50_000_000  # ~1 GB of training state at most
MAX_BATCH, MAX_EPOCHS = 65_536, 1_000_000
MAX_THREADS = 256


def _network_fits(sizes):
    layers = [N_PIXELS, *sizes, N_CLASSES]
    weights = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
    return 0 < len(sizes) <= MAX_LAYERS and all(0 < s <= MAX_UNITS for s in sizes) and weights <= MAX_WEIGHTS


def _optimizers():
    from ..nn.optim import OPTIMIZERS
    return OPTIMIZERS


def _schedules():
    from ..nn.schedules import SCHEDULES
    return SCHEDULES


def _sources():
    from ..mnist.sources import SOURCES
    return SOURCES


def _splits():
    from ..mnist.split import SPLITS
    return SPLITS


# --- the sections ----------------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    source: str = rule("a data source", choices=_sources)
    idx_dir: str = rule("a directory path (may be empty unless source is idx)")


@dataclass(frozen=True)
class Split:
    method: str = rule("a split method", choices=_splits)
    seed: int = rule("an integer in [0, 2**32)", between(0, SEED_LIMIT))
    val_fraction: float = rule("a number in (0, 1)", between(0, 1, lo_open=True))
    test_fraction: float = rule("a number in (0, 1)", between(0, 1, lo_open=True))


@dataclass(frozen=True)
class Model:
    hidden_sizes: tuple[int, ...] = rule(
        f"a non-empty list of at most {MAX_LAYERS} integers in 1..{MAX_UNITS}, with at most "
        f"{MAX_WEIGHTS:,} weights in all between {N_PIXELS} inputs and {N_CLASSES} outputs", _network_fits)
    init_seed: int = rule("an integer in [0, 2**32)", between(0, SEED_LIMIT))
    dropout: float = rule("a number in [0, 1)", between(0, 1))


@dataclass(frozen=True)
class Train:
    epochs: int = rule(f"an integer in 1..{MAX_EPOCHS:,}", between(1, MAX_EPOCHS, hi_open=False))
    batch_size: int = rule(f"an integer in 1..{MAX_BATCH:,}", between(1, MAX_BATCH, hi_open=False))
    lr: float = rule("a number > 0, also in float32 (>= 1e-38)", between(0, lo_open=True, float32=True))
    lam: float = rule("a number >= 0 that float32 holds", between(0, float32=True), key="lambda")
    patience: int = rule(f"an integer in 0..{MAX_EPOCHS:,}", between(0, MAX_EPOCHS, hi_open=False))
    tol: float = rule("a number >= 0", between(0))
    seed: int = rule("an integer in [0, 2**32)", between(0, SEED_LIMIT))
    optimizer: str = rule("an optimizer", choices=_optimizers)
    momentum: float = rule("a number in [0, 1), also in float32", between(0, 1, float32=True))
    nesterov: bool = rule("true or false")
    beta1: float = rule("a number in [0, 1), also in float32", between(0, 1, float32=True))
    beta2: float = rule("a number in [0, 1), also in float32", between(0, 1, float32=True))
    eps: float = rule("a number > 0, also in float32 (>= 1e-38)", between(0, lo_open=True, float32=True))
    schedule: str = rule("a learning-rate schedule", choices=_schedules)
    step_every: int = rule(f"an integer in 1..{MAX_EPOCHS:,}", between(1, MAX_EPOCHS, hi_open=False))
    step_gamma: float = rule("a number in (0, 1], also in float32",
                             between(0, 1, lo_open=True, hi_open=False, float32=True))
    threads: int = rule(f"an integer in 1..{MAX_THREADS}", between(1, MAX_THREADS, hi_open=False))
    # Distortions of the training images, fresh every epoch (scratchnet/mnist/distort.py); 0 is off.
    affine_shift: int = rule("an integer in 0..13 (whole pixels)", between(0, 13, hi_open=False))
    affine_rotation: float = rule("a number in [0, 180] (degrees)", between(0, 180, hi_open=False))
    affine_scale: float = rule("a number in [0, 1) (the scale factor stays > 0)", between(0, 1))
    affine_shear: float = rule("a number in [0, 90) (degrees)", between(0, 90))
    elastic_alpha: float = rule("a number in [0, 100] (pixels)", between(0, 100, hi_open=False))
    elastic_sigma: float = rule("a number in (0, 28] (pixels)", between(0, 28, lo_open=True, hi_open=False))


@dataclass(frozen=True)
class Evaluate:
    calibration_bins: int = rule("an integer in 2..1000", between(2, 1000, hi_open=False))
    n_misclassified: int = rule("an integer in 1..400", between(1, 400, hi_open=False))
    n_features: int = rule("an integer in 1..1024", between(1, 1024, hi_open=False))
    threads: int = rule(f"an integer in 1..{MAX_THREADS}", between(1, MAX_THREADS, hi_open=False))


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
        problems.append(f"section '{name}' must be a mapping of keys, got {short(values)}")
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
            problems.append(f"{dotted} = {short(value)} is not allowed: expected {allowed}")
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
    if "split" in p and p["split"].method == "stratified":  # official takes MNIST's own test set
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
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ParamsError(f"{path}: not a regular file (a directory or a device?); params.yaml must be a YAML file")
    if info.st_size > MAX_FILE_BYTES:
        raise ParamsError(f"{path}: {info.st_size:,} bytes is more than a params file holds "
                          f"(at most {MAX_FILE_BYTES:,}); is it the right file?")
    try:
        with open(path, encoding="utf-8") as f:
            raw = YAML(typ="safe", pure=True).load(f)
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8") from None
    except YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {str(e)[:1000]}") from None
    return validate(raw, path, sections or tuple(SECTIONS), check_files)
