"""Mini-batch training with early stopping on validation loss.

``fit`` reads top to bottom like nanoGPT's train.py: shuffle, train on every
batch, evaluate what early stopping needs, keep the best weights, log. It
returns the history and writes no files.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import DivergenceError
from .optim import SGD


@dataclass(frozen=True)
class FitConfig:
    """How ``fit`` trains: the loop's settings (the optimizer holds its own)."""
    epochs: int  # most epochs to run
    batch_size: int  # rows per mini-batch
    lam: float  # L2 strength (see losses.py)
    patience: int  # epochs without a validation-loss improvement before stopping
    tol: float  # smallest drop in validation loss that counts as an improvement
    seed: int  # seeds the per-epoch shuffle and the dropout masks


@dataclass
class History:
    records: list = field(default_factory=list)  # one dict per epoch
    best_epoch: int = 0
    best_val_loss: float = math.inf


def _nonfinite(arrays):
    """None if every array is finite, else "nan" or "inf" for the first bad one."""
    for a in arrays:
        if not np.isfinite(a).all():
            return "nan" if np.isnan(a).any() else "inf"
    return None


def _check_finite(loss, name, epoch, model, optimizer):
    """DivergenceError naming what went non-finite first, in the order a step makes it:
    the optimizer's state, then the weights it updates; if both are finite, the loss itself."""
    if math.isfinite(loss):
        return
    state = [(label, getattr(optimizer, attribute)) for label, attribute in getattr(optimizer, "STATE", {}).items()]
    for label, arrays in (*state, ("weights", model.params)):
        value = _nonfinite(arrays)
        if value is not None:
            raise DivergenceError(label, value, epoch, optimizer.lr)
    raise DivergenceError(name, loss, epoch, optimizer.lr)


def batch_buffers(X, y, batch_size):
    """Preallocated (x, y) arrays that each batch is gathered into."""
    return np.empty((batch_size, X.shape[1]), X.dtype), np.empty(batch_size, y.dtype)


def train_epoch(model, optimizer, X, y, order, *, batch_size, lam, rng=None, buffers=None):
    """One pass over the rows of X in ``order``; returns (summed loss, correct count).

    Plain SGD on a float32 model takes the fused step (``model.sgd_step``, fused.py);
    any other optimizer or dtype computes the gradients, then lets the optimizer
    step. Stops at the first batch whose loss is not finite and returns that loss.
    """
    x_batch, y_batch = buffers or batch_buffers(X, y, batch_size)
    fused = type(optimizer) is SGD and model.dtype == np.float32
    if len(order) and not 0 <= order.min() <= order.max() < len(X):
        raise IndexError(f"order holds rows {order.min()}..{order.max()}; X has {len(X)}")
    loss_sum, correct = 0.0, 0
    try:
        for first in range(0, len(order), batch_size):
            rows = order[first:first + batch_size]
            # mode="clip" (the rows were checked above): take's default mode copies the whole batch first.
            xb = np.take(X, rows, axis=0, out=x_batch[:len(rows)], mode="clip")
            yb = np.take(y, rows, out=y_batch[:len(rows)], mode="clip")
            if fused:
                batch_loss, batch_correct = model.sgd_step(xb, yb, optimizer.lr, lam, rng)
            else:
                batch_loss, batch_correct = model.train_step(xb, yb, lam, rng)
            if not math.isfinite(batch_loss):
                return batch_loss, correct
            loss_sum += batch_loss
            correct += batch_correct
            if not fused:
                optimizer.step(model.params, model.grads)
    finally:
        model.sync()  # whoever reads model.params next sees the true weights (fused.py)
    return loss_sum, correct


# A diverging run overflows: _check_finite reports it once, in place of NumPy's warnings.
@np.errstate(over="ignore", invalid="ignore")
def fit(model, optimizer, X_train, y_train, X_val, y_val, config, *, schedule=None, on_epoch=None,
        epoch_images=None):
    """Train ``model`` in place as ``config`` (a FitConfig) says, and return its History.

    Each epoch reshuffles the rows with a generator seeded once from ``config.seed``.
    Training loss and accuracy are averaged over the epoch's batches as they
    were computed (no second pass over the training set); validation loss and
    accuracy are computed on the weights at the end of the epoch. Training
    stops when validation loss has not improved by more than ``config.tol`` for
    ``config.patience`` epochs, and the weights of the best epoch are restored.
    ``schedule(epoch)``, if given, sets the optimizer's learning rate;
    ``on_epoch(record)``, if given, sees each epoch's record as it is made;
    ``epoch_images()``, if given, returns the training images of each epoch in place
    of ``X_train`` (distorted copies, row for row, so ``y_train`` still applies).
    """
    if X_train.dtype != model.dtype or X_val.dtype != model.dtype:
        raise TypeError(f"inputs must be {model.dtype}, got {X_train.dtype} and {X_val.dtype}")
    n, batch_size = len(X_train), config.batch_size
    shuffle_rng, dropout_rng = np.random.default_rng(config.seed).spawn(2)
    buffers = batch_buffers(X_train, y_train, batch_size)
    best_params = [p.copy() for p in model.params]
    history, waited = History(), 0
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        if schedule is not None:
            optimizer.lr = schedule(epoch)

        # Train on every batch of a fresh permutation (of freshly distorted images, if asked).
        X_epoch = X_train if epoch_images is None else epoch_images()
        loss_sum, correct = train_epoch(model, optimizer, X_epoch, y_train, shuffle_rng.permutation(n),
                                        batch_size=batch_size, lam=config.lam, rng=dropout_rng, buffers=buffers)
        _check_finite(loss_sum, "training loss", epoch, model, optimizer)

        # Evaluate what early stopping needs: the validation set only.
        val_loss, val_accuracy = model.evaluate(X_val, y_val)
        _check_finite(val_loss, "validation loss", epoch, model, optimizer)
        record = dict(epoch=epoch, train_loss=loss_sum / n, train_accuracy=correct / n,
                      val_loss=val_loss, val_accuracy=val_accuracy,
                      seconds=time.perf_counter() - start)
        history.records.append(record)
        if on_epoch is not None:
            on_epoch(record)

        # Early stopping: keep a copy of the best weights, count epochs since.
        if val_loss < history.best_val_loss - config.tol:
            history.best_epoch, history.best_val_loss, waited = epoch, val_loss, 0
            for best, p in zip(best_params, model.params):
                np.copyto(best, p)
        else:
            waited += 1
            if waited >= config.patience:
                break

    # Restore the best epoch's weights.
    for p, best in zip(model.params, best_params):
        np.copyto(p, best)
    return history
