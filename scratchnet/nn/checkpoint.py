"""Save and load a model as .npz: its weights plus the resolved configuration.

Like nanoGPT's checkpoints, the file carries the configuration that made it
(a JSON string), and a format version so an older scratchnet refuses a newer
file clearly. Loading never unpickles (``allow_pickle=False``).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

import numpy as np

from ..base import strictjson
from ..base.errors import ModelFileError
from ..base.npz import read_npz
from .model import MLP

FORMAT_VERSION = 1


def save(model: MLP, file: str | os.PathLike | IO[bytes], config: dict[str, Any] | None = None) -> None:
    """Write ``model`` and ``config`` (a JSON-serialisable dict; none: ``{}``) to ``file``, a path or
    a binary file.

    The pipeline passes the temporary file of an atomic write.
    """
    arrays: dict[str, np.ndarray | np.generic] = {
        "format_version": np.int64(FORMAT_VERSION),
        "sizes": np.array(model.sizes, np.int64),
        "config": np.array(json.dumps(config or {}, sort_keys=True, allow_nan=False)),
        **{f"param_{i}": p for i, p in enumerate(model.params)},
    }
    np.savez_compressed(file, **arrays)  # type: ignore[arg-type]  # (numpy's stub: a key could be allow_pickle)


def load(
    path: str | os.PathLike,
    *,
    inputs: int | None = None,
    outputs: int | None = None,
    names: tuple[str, str] = ("inputs", "outputs"),
) -> tuple[MLP, dict[str, Any]]:
    """Return (model, config) read from ``path``; ModelFileError if it is not a valid model, or
    (with ``inputs``/``outputs``) not one that maps that many inputs to that many outputs
    (``names`` says what they are, for the message)."""
    contents = read_npz(path, ModelFileError, "model")

    missing = {"format_version", "sizes", "config"} - contents.keys()
    if missing:
        raise ModelFileError(f"{path}: not a scratchnet model (missing {', '.join(sorted(missing))})")
    version, sizes_array = contents["format_version"], contents["sizes"]
    if (
        (version.shape, sizes_array.ndim) != ((), 1)
        or version.dtype.kind not in "iu"
        or sizes_array.dtype.kind not in "iu"
    ):
        raise ModelFileError(f"{path}: format_version and sizes must be integers (a number and a list of numbers)")
    version, sizes = int(version), [int(s) for s in sizes_array]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ModelFileError(f"{path}: layer sizes {sizes} are not a network")
    if (inputs is not None and sizes[0] != inputs) or (outputs is not None and sizes[-1] != outputs):
        raise ModelFileError(f"{path}: layer sizes {sizes} do not map {inputs} {names[0]} to {outputs} {names[1]}")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version}; this scratchnet reads "
            f"version {FORMAT_VERSION} (was it written by another release?)"
        )
    try:
        config = strictjson.loads(str(contents["config"]))
    except ValueError as e:  # JSONDecodeError included
        raise ModelFileError(f"{path}: its configuration is not valid JSON, strictly read ({e})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: its configuration is {type(config).__name__}, not a JSON object")

    # Every array is checked against the shapes ``sizes`` implies before the network is built,
    # so a small file that claims huge layers is refused, not allocated.
    shapes = [shape for fan_in, fan_out in zip(sizes[:-1], sizes[1:]) for shape in ((fan_in, fan_out), (fan_out,))]
    for i, shape in enumerate(shapes):
        stored = contents.get(f"param_{i}")
        if stored is None or stored.shape != shape or stored.dtype.kind != "f":
            got = "missing" if stored is None else f"{stored.dtype} of shape {stored.shape}"
            raise ModelFileError(f"{path}: parameter {i} is {got}, but sizes {sizes} need floats of shape {shape}")
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused just below
            contents[f"param_{i}"] = stored = stored.astype(np.float32, copy=False)
        if not np.isfinite(stored).all():
            raise ModelFileError(
                f"{path}: parameter {i} holds NaN or infinite values, or values beyond float32's range "
                "(saved from a diverged run?); retrain the model"
            )
    if len(contents) - 3 != len(shapes):
        raise ModelFileError(f"{path}: holds {len(contents) - 3} parameter arrays; sizes {sizes} need {len(shapes)}")
    model = MLP(sizes, seed=0)  # the stored weights replace the initial ones
    for i, p in enumerate(model.params):
        p[...] = contents[f"param_{i}"]
    return model, config
