"""Learning-rate schedules, off by default: none, step decay or cosine annealing."""
import math


def make_schedule(train):
    """A function epoch -> learning rate from the train section, or None for a constant lr."""
    lr, epochs = train["lr"], train["epochs"]
    if train["schedule"] == "none":
        return None
    if train["schedule"] == "step":
        every, gamma = train["step_every"], train["step_gamma"]
        return lambda epoch: lr * gamma ** ((epoch - 1) // every)
    if train["schedule"] == "cosine":
        return lambda epoch: 0.5 * lr * (1 + math.cos(math.pi * (epoch - 1) / epochs))
    raise ValueError(f"unknown schedule {train['schedule']!r}: expected none, step or cosine")
