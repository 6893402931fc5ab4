"""The train stage's per-epoch record (DVCLive's ``plots/metrics/NAME.tsv`` files) read back for the curves."""

import csv
import math
import os

from ..base import strictjson
from ..base.errors import DataError
from ..base.formats import EPOCH_METRICS, RUN_FILE


def read_history(directory, run):
    """[{epoch, train_loss, ...}] per epoch of the record in ``directory``, which must be the record of
    the training run ``run`` (the model's); DataError naming the file, line and column of anything wrong."""
    recorded = _read_run(os.path.join(directory, RUN_FILE))
    if recorded != run:
        raise DataError(
            f"{directory}: the per-epoch record of training run {recorded}, not of the model's ({run}): "
            "they come from different runs; rerun `dvc repro train`"
        )
    columns = {}
    for field, name in EPOCH_METRICS.items():
        path = os.path.join(directory, "plots", "metrics", f"{name}.tsv")
        try:
            columns[field] = _read_column(path, name.rsplit("/", 1)[-1])
        except FileNotFoundError:
            raise DataError(f"{path}: no such file; rerun `dvc repro train`") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text (byte {e.start}); rerun `dvc repro train`") from None
    first = next(iter(EPOCH_METRICS))
    epochs = list(columns[first])
    if not epochs:
        raise DataError(f"{directory}: holds no epochs; rerun `dvc repro train`")
    for field, values in columns.items():
        if list(values) != epochs:
            raise DataError(
                f"{directory}: {EPOCH_METRICS[field]}.tsv has epochs {_span(values)}, "
                f"{EPOCH_METRICS[first]}.tsv {_span(epochs)}; rerun `dvc repro train`"
            )
    return [{"epoch": epoch, **{field: columns[field][epoch] for field in EPOCH_METRICS}} for epoch in epochs]


def _read_run(path):
    try:
        with open(path, encoding="utf-8") as f:
            content = strictjson.loads(f.read(4096))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (a record from an older scratchnet?); rerun `dvc repro train`") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: not the JSON naming a run ({e}); rerun `dvc repro train`") from None
    if not isinstance(content, dict) or not isinstance(content.get("run"), str):
        raise DataError(f"{path}: names no run; rerun `dvc repro train`")
    return content["run"]


def _span(steps):
    steps = list(steps)
    return f"{steps[0]}..{steps[-1]} ({len(steps)})" if steps else "none"


def _read_column(path, name):
    """{epoch: value} from one DVCLive TSV (columns step and ``name``)."""
    out = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if not {"step", name} <= set(reader.fieldnames or []):
            raise DataError(f"{path}: expected columns step and {name}, found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                step, value = int(row["step"]), float(row[name])
            except (TypeError, ValueError):
                raise DataError(
                    f"{path}: line {line}: step {row['step']!r}, {name} {row[name]!r} "
                    "is not a number; rerun `dvc repro train`"
                ) from None
            if not math.isfinite(value):
                raise DataError(f"{path}: line {line}: {name} = {row[name]!r} is not finite")
            out[step] = value
    return out
