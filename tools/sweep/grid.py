"""The sweep's grid: DVC's `-S` grid syntax expanded into points, each checked like params.yaml.

`dvc exp run --queue -S 'train.lr=0.1,0.01' -S ...` reads its overrides with Hydra's
override grammar and takes the product of the sweeps (comma lists, ``range(...)``,
``choice(...)``; a later value for the same key replaces an earlier one). Here the
same parser expands the grid, so every point is known before anything runs, and each
point applied to the committed params.yaml is validated as a stage would: a bad key or
value is one error line naming the point, before the cluster starts.
"""

import copy
import itertools
import re
from dataclasses import dataclass

from scratchnet import params
from scratchnet.base.errors import ScratchnetError

MAX_POINTS = 1000
MAX_JOBS = 64
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# One BLAS thread per run unless the grid says otherwise: JOBS runs share the machine's cores.
THREADS = ("train.threads=1", "evaluate.threads=1")


@dataclass(frozen=True)
class Point:
    name: str  # the experiment's name: <sweep>-<index from 1>
    overrides: tuple  # the `-S` values, "train.lambda=0.0001"
    values: dict  # {"train.lambda": 0.0001, ...}: every param of this point, typed


def jobs(text):
    """JOBS as an int, or one error line."""
    value = str(text).strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
        raise ScratchnetError(
            f"JOBS = {value!r} is not allowed: expected an integer in 1..{MAX_JOBS} "
            "(runs at a time on the local cluster)"
        )
    return int(value)


def sweep_name(text):
    if not NAME.fullmatch(text):
        raise ScratchnetError(
            f"NAME = {text!r} is not allowed: expected up to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit (it names the experiments and the report)"
        )
    return text


def _parse(settings):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    out = []
    for setting in settings:
        text = setting.removeprefix("params.yaml:")
        try:
            (override,) = parser.parse_overrides([text])
        except HydraException as e:
            raise ScratchnetError(
                f"grid: {setting!r} is not DVC's -S syntax (key=value, key=v1,v2, "
                f"key=range(a,b,step), key=choice(a,b)): {str(e).splitlines()[0]}"
            ) from None
        key = override.get_key_element()
        if not re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", key):
            raise ScratchnetError(
                f"grid: {setting!r}: {key!r} is not a params.yaml key such as train.lambda "
                "(only params.yaml's own keys can be swept)"
            )
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                raise ScratchnetError(f"grid: {setting!r}: DVC's grid takes lists, range() and choice() only")
            out.append((key, [f"{key}={v}" for v in override.sweep_string_iterator()]))
        else:
            out.append((key, [f"{key}={override.get_value_element_as_str()}"]))
    return parser, out


def _value(parser, text):
    (override,) = parser.parse_overrides([text])
    value = override.value()
    return list(value) if isinstance(value, (list, tuple)) else value


def _flat(raw):
    return {f"{s}.{k}": v for s, section in raw.items() if isinstance(section, dict) for k, v in section.items()}


def expand(settings, committed, name):
    """The points of ``settings`` (each `-S` value) over the ``committed`` params (parsed YAML)."""
    parser, parsed = _parse([*THREADS, *settings])
    by_key = dict(parsed)  # a later setting of a key replaces an earlier one, as in DVC's sweeps
    count = 1
    for values in by_key.values():
        count *= len(values)
    if count > MAX_POINTS:
        raise ScratchnetError(
            f"grid: {count:,} points is more than a sweep runs (at most {MAX_POINTS:,}): sweep fewer values"
        )
    points = []
    for index, overrides in enumerate(itertools.product(*by_key.values()), start=1):
        raw = copy.deepcopy(committed)
        for text in overrides:
            key, value = text.split("=", 1)[0], _value(parser, text)
            section, field = key.split(".", 1)
            if not isinstance(raw.get(section), dict):
                raise ScratchnetError(f"grid: {key}: params.yaml has no section {section!r}")
            raw[section][field] = value
        where = f"grid point {index} ({' '.join(o for o in overrides if o not in THREADS)})"
        params.validate(raw, where=where)
        points.append(Point(f"{name}-{index}", overrides, _flat(raw)))
    return points
