"""The network's facts turned into advice about params.yaml keys."""

from __future__ import annotations

from ..base.errors import DivergenceError, TrainingError
from .sections import TrainParams


def divergence(error: DivergenceError, train: TrainParams) -> TrainingError:
    """A TrainingError for ``error``, raised while training with the train section ``train``.

    It names what went non-finite first and the keys that can cause that: the learning
    rate always, the optimizer's hyperparameters it declared as suspects, and lambda when
    each step's decay overshoots.
    """
    lr, lam = train.optimizer.lr, train.optimizer.weight_decay
    keys = [f"train.lr is {lr}"] + [f"train.{name} is {getattr(train.optimizer, name)}" for name in error.suspects]
    if lr * lam >= 1:  # each step scales W by (1 - lr * lambda): it overshoots zero
        keys.insert(0, f"train.lambda is {lam}: lr x lambda = {lr * lam:g} >= 1 makes the weight decay overshoot")
        advice = "try a smaller lambda or learning rate"
    elif error.suspects:
        advice = f"try a smaller learning rate, or another {' or '.join('train.' + s for s in error.suspects)}"
    else:
        advice = "try a smaller learning rate"
    return TrainingError(
        f"training diverged in epoch {error.epoch}: the {error.quantity} became {error.value}; "
        f"{advice} ({'; '.join(keys)})"
    )
