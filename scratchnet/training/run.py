"""The train stage's one library call: a model trained as the model and train sections say, with
its per-epoch record, progress lines, advice on divergence, and the configuration saved with it."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

from ..base.errors import DivergenceError
from ..base.formats import scale_pixels, sha256_of
from ..config import schema
from ..nn.kernels.blas import blas_threads
from ..nn.model import MLP
from . import advice
from .live import epoch_record, run_id
from .progress import epoch_log
from .recipe import build_model, train_model


@dataclass
class TrainedRun:
    model: MLP
    config: dict[str, Any]  # saved with the model (nanoGPT's checkpoint config): the sections and the run
    summary: str  # the stage's closing line


def train_run(params: Any, train_data: tuple, val_data: tuple, live_dir: str) -> TrainedRun:
    """Train on (uint8 pixels, labels) pairs as ``params`` (schema.load's ModelParams and TrainParams)
    say, recording each epoch in ``live_dir`` with DVCLive; a divergence becomes a TrainingError
    naming the params.yaml keys to change."""
    model_params, train = params
    (X_train, y_train), (X_val, y_val) = train_data, val_data
    run = run_id(params.values, sha256_of(X_train, y_train), sha256_of(X_val, y_val))
    if train.fit.batch_size > len(X_train):  # clipped, as scikit-learn's MLPClassifier does (docs/reliability.md)
        print(
            f"train: train.batch_size {train.fit.batch_size} is more than the {len(X_train)} training rows: "
            f"clipped to {len(X_train)} (one batch an epoch)",
            file=sys.stderr,
            flush=True,
        )
        train = dataclasses.replace(train, fit=dataclasses.replace(train.fit, batch_size=len(X_train)))
    model = build_model(model_params)
    try:
        with blas_threads(train.threads), epoch_log(train.fit.epochs) as log, epoch_record(live_dir, run) as record:

            def on_epoch(r):
                record(r)  # the record first: whoever sees the epoch's line finds it in the record
                log(r)

            history = train_model(
                model, train, scale_pixels(X_train), y_train, scale_pixels(X_val), y_val, on_epoch=on_epoch
            )
    except DivergenceError as e:
        raise advice.divergence(e, train) from None
    config = {
        "model": schema.as_dict(model_params),
        "train": schema.as_dict(train),
        "best_epoch": history.best_epoch,
        "model_epoch": history.model_epoch,
        "epochs_run": len(history.records),
        "run": run,
    }
    kept = history.records[history.model_epoch - 1]
    summary = (
        f"train: the weights of epoch {history.model_epoch} of {len(history.records)} "
        f"(lowest validation loss at {history.best_epoch}), "
        f"val_loss {kept['val_loss']:.4f}, val_accuracy {kept['val_accuracy']:.4f}, "
        f"peak memory {peak_rss_mb()} MB"
    )
    return TrainedRun(model, config, summary)


def peak_rss_mb() -> int:
    """This process's own peak resident memory (VmHWM; ru_maxrss would include DVC's, the parent's)."""
    with open("/proc/self/status", encoding="ascii") as f:
        return next((int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")), 0)
