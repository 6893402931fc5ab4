"""Learning-rate schedules, epoch -> learning rate; SCHEDULES names them.

A schedule's HYPERPARAMETERS name the attributes it takes from the training
configuration besides the base learning rate and the number of epochs.
"""
import math


class Constant:
    """The base learning rate throughout (the reference's setting)."""
    HYPERPARAMETERS = ()

    def __init__(self, lr, epochs):
        self.lr = lr

    def __call__(self, epoch):
        return self.lr


class StepDecay:
    """lr * step_gamma ** (completed step_every-epoch periods)."""
    HYPERPARAMETERS = ("step_every", "step_gamma")

    def __init__(self, lr, epochs, *, step_every, step_gamma):
        self.lr, self.every, self.gamma = lr, step_every, step_gamma

    def __call__(self, epoch):
        return self.lr * self.gamma ** ((epoch - 1) // self.every)


class Cosine:
    """Cosine annealing from lr towards 0 over ``epochs`` (Loshchilov & Hutter, 2017, without restarts)."""
    HYPERPARAMETERS = ()

    def __init__(self, lr, epochs):
        self.lr, self.epochs = lr, epochs

    def __call__(self, epoch):
        return 0.5 * self.lr * (1 + math.cos(math.pi * (epoch - 1) / self.epochs))


SCHEDULES = {"none": Constant, "step": StepDecay, "cosine": Cosine}


def make_schedule(name, lr, epochs, config):
    """The schedule ``name`` from base ``lr`` over ``epochs``, its other hyperparameters read off ``config``."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: expected one of {', '.join(SCHEDULES)}")
    cls = SCHEDULES[name]
    return cls(lr, epochs, **{key: getattr(config, key) for key in cls.HYPERPARAMETERS})
