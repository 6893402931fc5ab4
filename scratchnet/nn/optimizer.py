"""What an optimizer is: it owns its step, its state and its learning rate.

``optimizer.step(model, X, y, lam=..., rng=...)`` trains the model on one batch
(forward, backward and update) and returns (summed loss, correct count). Each
optimizer chooses how: the default computes the gradients (``model.train_step``)
and applies them with ``update(params, grads)``; a fused optimizer updates each
layer inside backprop (sgd.py). State (velocity, moments) is allocated for a model
on its first step. ``with optimizer.epoch(model):`` brackets a run of steps (fit
makes one per epoch); an optimizer may keep part of its update pending inside it
(the fused SGD step's weight scale) and settles it on exit, so outside an epoch,
and after any single ``step`` called on its own, ``model.params`` are the true weights.

Hyperparameters are dataclass fields declared with their constraints
(base/constraints.py): the params schema reads them, so a new optimizer is one
class here and one entry in optim.OPTIMIZERS. The learning rate has one owner:
``lr`` is the base rate params.yaml sets, ``factor`` the schedule's multiplier
for the current epoch (fit sets it), ``current_lr`` their product.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..base.constraints import Interval, hyperparameter
from .blas import find_sgemm

if TYPE_CHECKING:
    from .model import MLP

LEARNING_RATE = Interval(float, 0, None, closed="right", float32=True)


@dataclass(eq=False)
class Optimizer:
    lr: float = hyperparameter(LEARNING_RATE)
    factor: float = field(default=1.0, init=False, repr=False)  # the schedule's, for the current epoch
    # "sgemm" or "numpy" forces a fused step's path; None: sgemm where found (see choose_path)
    path: str | None = field(default=None, repr=False, kw_only=True)

    # PyTorch's equivalent, for the reference implementation (tools/reference.py): the name of
    # the torch.optim class and its keyword arguments, from ``torch_arguments``.
    torch_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self._model: MLP | None = None
        self._allocated = False
        self._depth = 0  # how many epoch() blocks are open

    @property
    def current_lr(self) -> float:
        return self.lr * self.factor

    def torch_arguments(self) -> dict[str, Any]:
        return {"lr": self.current_lr}

    # --- the step ------------------------------------------------------------------------

    def step(
        self, model: MLP, X: np.ndarray, y: np.ndarray, *, lam: float = 0.0, rng: np.random.Generator | None = None
    ) -> tuple[float, int]:
        """Train ``model`` on the batch (X, y); (summed data loss, correct count). After a batch
        whose loss is not finite the weights are left as they were."""
        with self.epoch(model):
            return self._step(model, X, y, lam, rng)

    def _step(
        self, model: MLP, X: np.ndarray, y: np.ndarray, lam: float, rng: np.random.Generator | None
    ) -> tuple[float, int]:
        loss, correct = model.train_step(X, y, lam, rng)
        if math.isfinite(loss):
            self.update(model.params, model.grads)
        return loss, correct

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply gradients (the L2 term already in them) to params, in place."""
        if not self._allocated:
            self.allocate(params)
            self._allocated = True
        self.apply(params, grads)

    def apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def epoch(self, model: MLP) -> Iterator[None]:
        """A run of steps on ``model``; on exit its params are the true weights."""
        self.bind(model)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.settle()

    def bind(self, model: MLP) -> None:
        """Allocate the optimizer's state for ``model`` (once; a second model is an error)."""
        if self._model is None:
            self._model = model
            if not self._allocated:
                self.allocate(model.params)
                self._allocated = True
        elif self._model is not model:
            raise ValueError(f"this {type(self).__name__} already steps another model; make one per model")

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        """Allocate state arrays shaped like ``params``, once, before the first step or update."""

    def choose_path(self, dtype: np.dtype) -> None:
        """For an optimizer that fuses its update into backprop: ``fused`` is "sgemm" (the update
        inside the products of NumPy's own OpenBLAS, blas.py) or "numpy" (np.matmul, then a pass)
        for a float32 model, None (the explicit path: gradients, then ``apply``) for another dtype;
        ``description`` says what runs."""
        if dtype != np.float32:
            self.sgemm, self.fused, self.description = None, None, f"explicit ({dtype} model)"
            return
        sgemm, found = find_sgemm() if self.path != "numpy" else (None, "")
        if self.path == "sgemm" and sgemm is None:
            raise LookupError(f"no usable sgemm: {found}")
        self.sgemm = sgemm
        self.fused = "sgemm" if sgemm is not None else "numpy"
        self.description = found if sgemm is not None else "pure NumPy"

    def settle(self) -> None:
        """Apply whatever the optimizer kept pending, so that params are the true weights (nothing by default)."""

    # --- for divergence reports ------------------------------------------------------------

    def state(self) -> dict[str, tuple[list[np.ndarray], tuple[str, ...]]]:
        """{what: (arrays, the hyperparameters that can make them blow up)} of the optimizer's state."""
        return {}
