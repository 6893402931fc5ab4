"""From params.yaml's typed model and train sections to the network's objects and a call of ``fit``:
one place, used by the train stage, the bench, the comparison tool and the tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..base.formats import N_CLASSES, N_PIXELS
from ..nn.fit import History, fit
from ..nn.model import MLP
from ..nn.optim import Optimizer
from .distort import Prefetcher
from .sections import ModelParams, TrainParams


def build_model(model: ModelParams) -> MLP:
    """The MLP that the model section describes: 784 inputs, its hidden layers, 10 outputs."""
    sizes = [N_PIXELS, *model.hidden_sizes, N_CLASSES]
    return MLP(sizes, seed=model.init_seed, dropout=model.dropout, input_dropout=model.input_dropout)


@contextlib.contextmanager
def distorted_epochs(train: TrainParams, X_train: np.ndarray) -> Iterator[Callable[[], np.ndarray] | None]:
    """Yield ``fit``'s ``epoch_images``: a call per epoch returning freshly distorted training images
    (computed one epoch ahead in a thread), or None when the train section asks for no distortion."""
    if train.distortion is None:
        yield None
        return
    rng = np.random.default_rng(train.fit.seed).spawn(3)[2]  # apart from fit's shuffle and dropout streams
    with Prefetcher(train.distortion, X_train, rng) as epochs:
        yield epochs.next


def train_model(
    model: Any,
    train: TrainParams,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    optimizer: Optimizer | Any = None,
) -> History:
    """``fit`` as the train section says, distortions included, with the section's optimizer (or
    ``optimizer``: the PyTorch side's of tools/compare.py): what the train stage runs, and what
    compare runs for each side. The optimizer steps one model only; a second run of the same
    section needs a fresh one (``dataclasses.replace(train.optimizer)``)."""
    if optimizer is None:
        optimizer = train.optimizer
    with distorted_epochs(train, X_train) as epoch_images:
        return fit(
            model, optimizer, X_train, y_train, X_val, y_val, train.fit, on_epoch=on_epoch, epoch_images=epoch_images
        )
