"""The train stage's per-epoch history (reports/history.tsv) read back for the curves."""
import csv
import math

from ..pipeline.errors import DataError

COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def read_history(path):
    """[{column: number}] per epoch; DataError naming the file, row and column of anything else."""
    try:
        return _read(path)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}); rerun `dvc repro train`") from None


def _read(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing columns {', '.join(missing)}; rerun `dvc repro train`")
        rows = []
        for line, row in enumerate(reader, start=2):
            record = {}
            for column in COLUMNS:
                try:
                    record[column] = int(row[column]) if column == "epoch" else float(row[column])
                except (TypeError, ValueError):
                    raise DataError(f"{path}: line {line}: {column} = {row[column]!r} is not a number; "
                                    "rerun `dvc repro train`") from None
                if not math.isfinite(record[column]):
                    raise DataError(f"{path}: line {line}: {column} = {row[column]!r} is not finite")
            rows.append(record)
    if not rows:
        raise DataError(f"{path}: holds no epochs; rerun `dvc repro train`")
    return rows
