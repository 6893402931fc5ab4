"""The formats the stages hand each other: data files (X uint8 of shape (n, 784), y uint8 in
0..9) and the names of the per-epoch record's columns.

Every data source returns the data format and every stage reads it back through
``load_npz``, with the same checks. ``scale_pixels`` is the network's input.
"""

import hashlib

import numpy as np

from .errors import DataError
from .npz import read_npz

N_PIXELS = 784  # 28 x 28
N_CLASSES = 10
# The train stage's per-epoch record, which evaluate reads back for its curves: each of fit's
# record fields and its DVCLive name, which is its curve's file (reports/live/plots/metrics/train/loss.tsv
# ..., one row per epoch). reports/live/metrics.json holds the latest epoch's values under
# LATEST_EPOCH ({"latest_epoch": {"epoch": 7, "train": {"loss": ...}, "val": {...}, "seconds": ...}}),
# and reports/metrics.json the kept model's under KEPT_MODEL ({"model": {"val": {"accuracy": ...}}}):
# one key, one quantity, in every metrics file that `dvc metrics diff` and `dvc exp show` read.
EPOCH_METRICS = {
    "train_loss": "train/loss",
    "train_accuracy": "train/accuracy",
    "val_loss": "val/loss",
    "val_accuracy": "val/accuracy",
    "seconds": "seconds",
}
LATEST_EPOCH = "latest_epoch"
KEPT_MODEL = "model"
# The record's file naming the training run it belongs to, which the model file names too: evaluate
# refuses a record and a model of different runs.
RUN_FILE = "run.json"


def check_arrays(X, y, where):
    """(X uint8, y uint8) if X, y are MNIST-shaped pixels and labels; DataError naming ``where`` if not."""
    if X.dtype.kind not in "uif" or y.dtype.kind not in "uif":
        raise DataError(f"{where}: images and labels must be numeric arrays, got {X.dtype} and {y.dtype}")
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise DataError(f"{where}: images have shape {X.shape}, expected (n, {N_PIXELS})")
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{where}: {len(X)} images but labels of shape {y.shape}")
    if len(X) == 0:
        raise DataError(f"{where}: holds no images")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{where}: images contain NaN or infinite pixels")
    if X.dtype != np.uint8 and (X.min() < 0 or X.max() > 255 or not np.array_equal(X, np.round(X))):
        raise DataError(f"{where}: pixels must be whole numbers in 0..255")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= N_CLASSES:
        raise DataError(f"{where}: labels must be integers 0..{N_CLASSES - 1}, found {np.unique(y)[:12]}")
    return X.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)


def sha256_of(X, y):
    return hashlib.sha256(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()


def load_npz(path):
    """X, y from one of the pipeline's .npz files, checked as above."""
    contents = read_npz(path, DataError, "data")
    if "X" not in contents or "y" not in contents:
        raise DataError(f"{path}: expected arrays X and y, found {', '.join(contents) or 'none'}")
    return check_arrays(contents["X"], contents["y"], path)


def scale_pixels(X, dtype=np.float32):
    """uint8 pixels 0..255 -> floats in [0, 1] (float32 unless ``dtype`` says otherwise)."""
    out = X.astype(dtype)
    out /= out.dtype.type(255)
    return out
