"""Mini-batch training with early stopping on validation loss.

``fit`` reads top to bottom like nanoGPT's train.py: shuffle, train on every
batch, evaluate what early stopping needs, keep the best weights, log. It
returns the history and writes no files.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..base.constraints import SEED, Boolean, Interval, hyperparameter
from ..base.errors import DivergenceError
from ..base.formats import scale_pixels
from .model import MLP
from .optim.base import Optimizer

COUNT = 1_000_000  # the most epochs a run may take, and so the most patience


@dataclass(frozen=True)
class FitConfig:
    """How ``fit`` trains: the loop's settings (the optimizer holds its own: learning rate and
    schedule, weight decay)."""

    epochs: int = hyperparameter(Interval(int, 1, COUNT))  # most epochs to run
    batch_size: int = hyperparameter(Interval(int, 1, 65_536))  # rows per mini-batch
    patience: int = hyperparameter(Interval(int, 0, COUNT))  # epochs without improvement before stopping
    tol: float = hyperparameter(Interval(float, 0, None))  # smallest drop in validation loss that counts
    seed: int = hyperparameter(SEED)  # the shuffle's and dropout's seed
    # keep the weights of the epoch with the lowest validation loss (early stopping's restore), or the last
    restore_best: bool = hyperparameter(Boolean(), default=True)


@dataclass
class History:
    records: list[dict[str, Any]] = field(default_factory=list)  # one dict per epoch
    best_epoch: int = 0
    best_val_loss: float = math.inf  # the monitored loss at the best epoch (training loss without validation)
    model_epoch: int = 0  # the epoch whose weights the model holds at the end: the best, or the last


def _nonfinite(arrays: Sequence[np.ndarray]) -> str | None:
    """None if every array is finite, else "nan" or "inf" for the first bad one."""
    for a in arrays:
        if not np.isfinite(a).all():
            return "nan" if np.isnan(a).any() else "inf"
    return None


def _check_finite(loss: float, name: str, epoch: int, model: MLP, optimizer: Optimizer) -> None:
    """DivergenceError naming what went non-finite first, in the order a step makes it:
    the optimizer's state, then the weights it updates; if both are finite, the loss itself."""
    if math.isfinite(loss):
        return
    lr = optimizer.current_lr
    for label, (arrays, suspects) in optimizer.state().items():
        value = _nonfinite(arrays)
        if value is not None:
            raise DivergenceError(label, value, epoch, lr, suspects)
    value = _nonfinite(model.params)
    if value is not None:
        raise DivergenceError("weights", value, epoch, lr)
    raise DivergenceError(name, loss, epoch, lr)


def _features(X: np.ndarray, model: MLP, name: str) -> np.ndarray:
    """X as the model's dtype: uint8 pixels scaled by 1/255; another dtype is a TypeError."""
    if X.dtype == np.uint8:
        return scale_pixels(X, model.dtype)
    if X.dtype != model.dtype:
        raise TypeError(f"{name} is {X.dtype}: fit takes {model.dtype} features, or uint8 pixels 0..255")
    return X


def batch_buffers(X: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Preallocated (x, y) arrays that each batch is gathered into."""
    return np.empty((batch_size, X.shape[1]), X.dtype), np.empty(batch_size, y.dtype)


def train_epoch(
    model: MLP,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    *,
    batch_size: int,
    rng: np.random.Generator | None = None,
    buffers: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, int]:
    """One pass over the rows of X in ``order``; returns (summed loss, correct count).

    Every batch is one ``model.train_step``, inside one ``optimizer.epoch`` block. Stops at
    the first batch whose loss is not finite and returns that loss.
    """
    x_batch, y_batch = buffers or batch_buffers(X, y, batch_size)
    if len(order) and not 0 <= order.min() <= order.max() < len(X):
        raise IndexError(f"order holds rows {order.min()}..{order.max()}; X has {len(X)}")
    loss_sum, correct = 0.0, 0
    with optimizer.epoch(model):
        for first in range(0, len(order), batch_size):
            rows = order[first : first + batch_size]
            # mode="clip" (the rows were checked above): take's default mode copies the whole batch first.
            xb = np.take(X, rows, axis=0, out=x_batch[: len(rows)], mode="clip")
            yb = np.take(y, rows, out=y_batch[: len(rows)], mode="clip")
            batch_loss, batch_correct = model.train_step(xb, yb, optimizer, rng)
            if not math.isfinite(batch_loss):
                return batch_loss, correct
            loss_sum += batch_loss
            correct += batch_correct
    return loss_sum, correct


# A diverging run overflows: _check_finite reports it once, in place of NumPy's warnings.
@np.errstate(over="ignore", invalid="ignore")
def fit(
    model: MLP,
    optimizer: Optimizer,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    config: FitConfig,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    epoch_images: Callable[[], np.ndarray] | None = None,
) -> History:
    """Train ``model`` in place with ``optimizer`` as ``config`` (a FitConfig) says; return its History.

    ``X_train`` and ``X_val`` are (rows, features) arrays of the model's dtype, or uint8 pixels
    0..255, which are scaled by 1/255 as the pipeline scales them; ``y_train`` and ``y_val`` are
    integer class labels. Each epoch reshuffles the rows with a generator seeded once from ``config.seed``.
    Training loss and accuracy are averaged over the epoch's batches as they
    were computed (no second pass over the training set); validation loss and
    accuracy are computed on the weights at the end of the epoch. Training
    stops when validation loss has not improved by more than ``config.tol`` for
    ``config.patience`` epochs, and the weights of the best epoch are restored (unless
    ``config.restore_best`` is false: then the last epoch's stay). Without
    validation data (``X_val`` None) the training loss is monitored instead, and the
    records' validation fields are None.
    ``optimizer.start_epoch(epoch, config.epochs)`` sets each epoch's learning rate (its schedule's);
    ``on_epoch(record)``, if given, sees each epoch's record as it is made;
    ``epoch_images()``, if given, returns the training images of each epoch in place
    of ``X_train`` (distorted copies, row for row, so ``y_train`` still applies).
    """
    X_train = _features(X_train, model, "X_train")
    X_val = None if X_val is None else _features(X_val, model, "X_val")
    n, batch_size = len(X_train), config.batch_size
    shuffle_rng, dropout_rng = np.random.default_rng(config.seed).spawn(2)
    buffers = batch_buffers(X_train, y_train, batch_size)
    best_params = [p.copy() for p in model.params]
    history, waited = History(), 0
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        optimizer.start_epoch(epoch, config.epochs)

        # Train on every batch of a fresh permutation (of freshly distorted images, if asked).
        X_epoch = X_train if epoch_images is None else epoch_images()
        loss_sum, correct = train_epoch(
            model,
            optimizer,
            X_epoch,
            y_train,
            shuffle_rng.permutation(n),
            batch_size=batch_size,
            rng=dropout_rng,
            buffers=buffers,
        )
        _check_finite(loss_sum, "training loss", epoch, model, optimizer)

        # Evaluate what early stopping needs: the validation set only.
        val_loss = val_accuracy = None
        if X_val is not None and y_val is not None:
            val_loss, val_accuracy = model.evaluate(X_val, y_val)
        monitored = loss_sum / n if val_loss is None else val_loss
        _check_finite(monitored, "validation loss", epoch, model, optimizer)
        record = dict(
            epoch=epoch,
            train_loss=loss_sum / n,
            train_accuracy=correct / n,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            seconds=time.perf_counter() - start,
        )
        history.records.append(record)
        if on_epoch is not None:
            on_epoch(record)

        # Early stopping: keep a copy of the best weights, count epochs since.
        if monitored < history.best_val_loss - config.tol:
            history.best_epoch, history.best_val_loss, waited = epoch, monitored, 0
            for best, p in zip(best_params, model.params):
                np.copyto(best, p)
        else:
            waited += 1
            if waited >= config.patience:
                break

    # Restore the best epoch's weights (or keep the last, as asked).
    if config.restore_best:
        for p, best in zip(model.params, best_params):
            np.copyto(p, best)
    history.model_epoch = history.best_epoch if config.restore_best else len(history.records)
    return history
