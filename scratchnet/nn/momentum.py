"""Momentum SGD, heavy ball or Nesterov, in PyTorch's convention: v <- mu * v + g; p <- p - lr * v,
or with Nesterov p <- p - lr * (g + mu * v)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.constraints import Boolean, Interval, hyperparameter
from .optimizer import Optimizer


@dataclass(eq=False)
class Momentum(Optimizer):
    """Gradient descent with momentum ``momentum``; ``nesterov`` for Nesterov's look-ahead."""

    momentum: float = hyperparameter(Interval(float, 0, 1, closed="left", float32=True))
    nesterov: bool = hyperparameter(Boolean(), default=False)

    torch_name = "SGD"

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        self._velocity = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]

    def state(self):
        return {"velocity": (self._velocity, ("momentum",))}

    def apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        for p, g, v, s in zip(params, grads, self._velocity, self._scratch):
            mu, lr = p.dtype.type(self.momentum), p.dtype.type(self.current_lr)
            v *= mu
            v += g
            if self.nesterov:
                np.multiply(v, mu, out=s)
                s += g
            else:
                s[...] = v
            s *= lr
            p -= s
