"""The network's facts turned into advice about params.yaml keys."""
from .errors import TrainingError


def divergence(error, train):
    """A TrainingError for a DivergenceError ``error`` raised while training with the train section ``train``.

    It names what went non-finite first and the keys that can cause that.
    """
    keys = [f"train.lr is {train.lr}"]
    if error.quantity.startswith("Adam"):
        keys += [f"train.eps is {train.eps}", f"train.beta2 is {train.beta2}"]
    elif error.quantity == "momentum velocity":
        keys += [f"train.momentum is {train.momentum}"]
    if train.lr * train.lam >= 1:  # each step scales W by (1 - lr * lambda): it overshoots zero
        keys.insert(0, f"train.lambda is {train.lam}: lr x lambda = {train.lr * train.lam:g} >= 1 "
                       "makes the weight decay overshoot")
        advice = "try a smaller lambda or learning rate"
    elif len(keys) > 1:
        advice = "try a smaller learning rate or a larger epsilon"
    else:
        advice = "try a smaller learning rate"
    return TrainingError(f"training diverged in epoch {error.epoch}: the {error.quantity} became {error.value}; "
                         f"{advice} ({'; '.join(keys)})")
