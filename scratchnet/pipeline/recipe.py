"""From params.yaml's typed model and train sections to the network's objects: one place, used by
the train stage, the comparison tool and the tests."""
import contextlib

import numpy as np

from ..mnist.distort import Distortion, Prefetcher
from ..nn.model import MLP
from ..nn.optim import make_optimizer
from ..nn.schedules import make_schedule
from ..nn.train import FitConfig
from .datafiles import N_CLASSES, N_PIXELS


def build_model(model):
    """The MLP that the model section describes: 784 inputs, its hidden layers, 10 outputs."""
    return MLP([N_PIXELS, *model.hidden_sizes, N_CLASSES], seed=model.init_seed, dropout=model.dropout)


def build_training(train, model):
    """(optimizer, schedule, FitConfig) that the train section describes, for ``model``."""
    optimizer = make_optimizer(train.optimizer, model.params, train)
    schedule = make_schedule(train.schedule, train.lr, train.epochs, train)
    config = FitConfig(epochs=train.epochs, batch_size=train.batch_size, lam=train.lam,
                       patience=train.patience, tol=train.tol, seed=train.seed)
    return optimizer, schedule, config


@contextlib.contextmanager
def distorted_epochs(train, X_train):
    """Yield ``fit``'s ``epoch_images``: a call per epoch returning freshly distorted training images
    (computed one epoch ahead in a thread), or None when the train section asks for no distortion."""
    distortion = Distortion.from_params(train)
    if distortion is None:
        yield None
        return
    rng = np.random.default_rng(train.seed).spawn(3)[2]  # apart from fit's shuffle and dropout streams
    with Prefetcher(distortion, X_train, rng) as epochs:
        yield epochs.next
