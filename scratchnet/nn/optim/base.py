"""What an optimizer is: an update rule with its hyperparameters, its state and its learning rate.

As in torch.optim, an optimizer holds ``lr`` (the base rate), ``weight_decay`` (L2 on the
weights, never the biases: ``weight_decay * W`` joins each weight's gradient, as torch's
weight_decay adds it) and ``schedule`` (the factor of ``lr`` in each epoch, which ``fit`` asks
for with ``start_epoch``; ``current_lr`` is their product), and its state. It never runs the
forward or backward pass: ``MLP.train_step(X, y, optimizer)`` is the one training step, and
calls three hooks of the optimizer:

* ``begin(model)``, before the step's products: a StepPlan, which products to use (the sgemm
  of blas.py, or np.matmul), the scale of the stored weights (the fused SGD step keeps
  ``W = s * V``) and the factor folded into the loss gradient (SGD's ``-lr``);
* ``advance()``, once the batch's loss is known to be finite: count the step;
* ``update_layer(products, i)``, called by backprop as soon as the delta below layer i is
  known: layer i's update. This class's is the explicit one (the layer's gradients into
  ``model.grads``, the decay added, then ``apply_one`` on each parameter); a fused optimizer
  (float32 models) updates inside or right after the weight-gradient product instead.

``update(params, grads)`` applies given gradients outside a step (torch's ``optimizer.step()``).
State is allocated (``allocate``) for the model of the first step; ``with optimizer.epoch(model):``
brackets a run of steps (fit makes one per epoch), and on its exit ``settle()`` applies whatever
the optimizer kept pending (the fused SGD step's weight scale), so outside an epoch, and after
any single step, ``model.params`` are the true weights.

Hyperparameters are dataclass fields declared with their constraints (base/constraints.py):
the params schema reads them, so a new optimizer is one class and one entry in OPTIMIZERS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ...base.constraints import Interval, hyperparameter
from ..kernels.blas import find_sgemm
from ..kernels.inplace import BLOCK, Blocks, axpy_, max_norm_, row_block, scratch
from .schedules import Constant

if TYPE_CHECKING:
    from ..kernels.products import MatmulProducts
    from ..model import MLP

LEARNING_RATE = Interval(float, 0, None, closed="right", float32=True)
WEIGHT_DECAY = Interval(float, 0, None, float32=True)


class StepPlan(NamedTuple):
    """What a step needs from its optimizer before the products (see the module docstring)."""

    sgemm: Any = None  # blas.Sgemm for the sgemm products, None for np.matmul
    weight_scale: float = 1.0  # the true weights are weight_scale * params
    loss_scale: float = 1.0  # the loss gradient is computed times this


EXPLICIT = StepPlan()


@dataclass(eq=False)
class Optimizer:
    lr: float = hyperparameter(LEARNING_RATE)
    # L2 on the weights, not the biases: the objective adds (weight_decay / 2) * sum ||W||^2 (losses.py)
    weight_decay: float = hyperparameter(WEIGHT_DECAY, key="lambda", default=0.0, kw_only=True)
    # max-norm (Srivastava et al. 2014): the largest L2 norm of each hidden unit's incoming weights,
    # enforced by projection right after each step's update of the layer (0 = off; ``constrain``)
    max_norm: float = hyperparameter(WEIGHT_DECAY, default=0.0, kw_only=True)
    # (epoch, epochs) -> the factor of lr in that epoch (schedules.py)
    schedule: Callable[[int, int], float] = field(default_factory=Constant, kw_only=True)
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
        self._summed: int | None = None  # the layer whose column squares a fused pass has added up
        self.sgemm: Any = None
        self.fused: str | None = None
        self._passes: list[Blocks] = []  # a fused step's blocks per parameter (fused_passes)
        self.description = ""

    @property
    def current_lr(self) -> float:
        return self.lr * self.factor

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Set the learning rate of ``epoch`` (counted from 1) of a run of at most ``epochs``."""
        self.factor = self.schedule(epoch, epochs)

    def torch_arguments(self) -> dict[str, Any]:
        """torch.optim's keyword arguments but the weight decay (the reference sets it on weights only)."""
        return {"lr": self.current_lr}

    # --- the hooks of MLP.train_step ------------------------------------------------------

    def begin(self, model: MLP) -> StepPlan:
        """Before a step of ``model``: bind it (state allocated on the first step) and plan the step."""
        self.bind(model)
        return EXPLICIT

    def advance(self) -> None:
        """Count a step whose loss was finite (before its updates)."""

    def update_layer(self, products: MatmulProducts, i: int) -> None:
        """Layer i's update, once backprop has the delta below it: the explicit one, from its gradients."""
        model = self.bound()
        model.gradient(products, i)
        self._apply(model.params[2 * i : 2 * i + 2], model.grads[2 * i : 2 * i + 2])
        self.constrain(i)

    def constrain(self, i: int) -> None:
        """Max-norm, after layer i's update in a step: each column of a hidden layer's W (a unit's
        incoming weights) longer than ``max_norm`` is scaled back to it (kernels/inplace.max_norm_).
        The output layer is left free, as in the dropout paper (its units are not hidden units)."""
        if not self.max_norm:
            return
        model = self.bound()
        if i < model.n_layers - 1:
            summed, self._summed = self._summed == i, None
            w = model.params[2 * i]
            max_norm_(w, self.max_norm, *self._norms[i], self._scratch, self.weight_scale(), summed)

    def column_squares(self, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """For a fused pass about to update parameter k: (norms, partial) to add the updated weights'
        column sums of squares into (``add_column_squares``; its blocks are whole rows, ``row_block``),
        so that ``constrain`` reads no weight again; None if parameter k is not constrained."""
        if not self.max_norm or k % 2 or k // 2 >= self.bound().n_layers - 1:
            return None
        norms, partial = self._norms[k // 2]
        norms[...] = 0.0
        self._summed = k // 2
        return norms, partial

    def blocks(self, *arrays: np.ndarray) -> Blocks:
        """A fused pass's blocks over a parameter and its state: whole rows of a weight matrix, so that
        the pass can add up its columns' squares (``column_squares``)."""
        return Blocks(
            *arrays, scratch=self._scratch, block=row_block(arrays[0].shape[-1]) if arrays[0].ndim == 2 else BLOCK
        )

    def fused_passes(self, model: MLP, *state: Sequence[np.ndarray]) -> list[Blocks]:
        """Per parameter, the blocks of a fused pass over it, its gradient buffer and the optimizer's
        ``state`` arrays of that parameter (made on the first fused step, then reused)."""
        if not self._passes:
            self._passes = [self.blocks(*arrays) for arrays in zip(model.params, model.grads, *state)]
        return self._passes

    def weight_scale(self) -> float:
        """The factor between the stored weights and the true ones after this step (1 but for fused SGD)."""
        return 1.0

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply the data loss's gradients to ``params`` in place, as parallel lists ``[W0, b0, ...]``:
        the weight decay joins the gradients of the weights (even positions), which serve as scratch."""
        self._allocate_once(params)
        self._apply(params, grads)

    def _allocate_once(self, params: Sequence[np.ndarray]) -> None:
        if not self._allocated:
            self.allocate(params)
            self._allocated = True

    def _apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        for k, (p, g) in enumerate(zip(params, grads)):
            if k % 2 == 0 and self.weight_decay:
                axpy_(g, self.weight_decay, p, self._scratch)
            self.apply_one(p, g, self._state_of(p))

    def apply_one(self, p: np.ndarray, g: np.ndarray, k: int) -> None:
        """p <- the update of p from its full gradient g (the decay in it); k: p's position in the state."""
        raise NotImplementedError

    def _state_of(self, p: np.ndarray) -> int:
        """p's position among the parameters the state was allocated for."""
        for k, q in enumerate(self._params):
            if q is p:
                return k
        raise ValueError(f"this {type(self).__name__} holds no state for that array")

    # --- state ---------------------------------------------------------------------------

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

    def bound(self) -> MLP:
        """The model this optimizer steps."""
        if self._model is None:
            raise ValueError(f"this {type(self).__name__} has stepped no model yet")
        return self._model

    def bind(self, model: MLP) -> None:
        """Allocate the optimizer's state for ``model`` (once; a second model is an error)."""
        if self._model is None:
            self._model = model
            self._allocate_once(model.params)
        elif self._model is not model:
            raise ValueError(f"this {type(self).__name__} already steps another model; make one per model")

    def allocate(self, params: Sequence[np.ndarray]) -> None:
        """Allocate state arrays shaped like ``params``, once, before the first step or update."""
        self._params = list(params)
        self._scratch = scratch(params[0].dtype)
        # max-norm's column norms and their partial sums, per layer (the weights' dtype: no cast buffer)
        self._norms = (
            [(np.empty(w.shape[1], w.dtype), np.empty(w.shape[1], w.dtype)) for w in params[0::2]]
            if self.max_norm
            else []
        )
        self._passes = []
        self.choose_path(params[0].dtype)

    def choose_path(self, dtype: np.dtype) -> None:
        """For an optimizer that fuses its update into backprop: ``fused`` is "sgemm" (the update
        inside the products of NumPy's own OpenBLAS, blas.py) or "numpy" (np.matmul, then a pass)
        for a float32 model, None (the explicit path: gradients, then ``apply_one``) for another dtype;
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
