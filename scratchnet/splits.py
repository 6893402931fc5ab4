"""Train/validation/test splits (the split stage's code), seeded and stratified with exact sizes:
a registry, name -> function, and params.yaml's split section.

``split.method`` names the function; each takes the labels and the split section's
numbers and returns index arrays (train, val, test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base.constraints import SEED, Choice, Interval, Invalid, hyperparameter
from .base.errors import DataError

OFFICIAL_TRAIN, OFFICIAL_TEST = 60_000, 10_000  # MNIST's training digits, then the t10k test digits


def split_sizes(n, val_fraction, test_fraction):
    """Rows for (train, val, test): val and test are round(fraction * n)."""
    n_val, n_test = round(val_fraction * n), round(test_fraction * n)
    return n - n_val - n_test, n_val, n_test


def _stratified(rows, y, size, seed):
    """(rest, held out) of ``rows``, ``size`` rows held out with each class's share of y[rows]."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(rows, test_size=size, stratify=y[rows], random_state=seed)
    except ValueError as e:  # e.g. a class with a single row cannot be stratified
        raise DataError(f"cannot split {len(rows)} rows stratified by class: {e}") from None


def stratified_split(y, *, val_fraction, test_fraction, seed):
    """Index arrays (train, val, test) that keep each class's share in every part.

    Two calls to scikit-learn's stratified ``train_test_split`` with integer
    sizes, so the sizes are exact: first the test rows, then validation.
    """
    n_train, n_val, n_test = split_sizes(len(y), val_fraction, test_fraction)
    if min(n_train, n_val, n_test) < 10:  # fewer rows than classes cannot be stratified
        raise DataError(f"{len(y)} rows split {n_train}/{n_val}/{n_test}: every part needs >= 10 rows")
    rest, test = _stratified(np.arange(len(y)), y, n_test, seed)
    train, val = _stratified(rest, y, n_val, seed)
    return train, val, test


def official_split(y, *, val_fraction, test_fraction, seed):
    """MNIST's own test set: (train, val, test) with test = the 10,000 t10k digits, rows 60,000..69,999
    in their order; validation is round(val_fraction * 60,000) of the training digits, stratified and
    seeded, train the rest. ``test_fraction`` plays no part.

    Every full-MNIST source returns OpenML's order (60,000 training digits, then t10k), so the
    data must hold exactly 70,000 rows; anything else (the 5,000-digit sample) is a DataError.
    """
    if len(y) != OFFICIAL_TRAIN + OFFICIAL_TEST:
        raise DataError(
            f"split.method official needs MNIST's own {OFFICIAL_TEST:,} test digits, which only full MNIST has "
            f"({OFFICIAL_TRAIN + OFFICIAL_TEST:,} rows, from data.source openml or idx); these data hold "
            f"{len(y):,} rows (data.source sample has no official test set). Set split.method: stratified "
            f"(`dvc exp run -S split.method=stratified`), or use data.source openml or idx"
        )
    n_val = round(val_fraction * OFFICIAL_TRAIN)
    if not 10 <= n_val <= OFFICIAL_TRAIN - 10:
        raise DataError(
            f"split.val_fraction {val_fraction:g} of {OFFICIAL_TRAIN:,} training digits is "
            f"{n_val} for validation: train and validation need >= 10 rows each"
        )
    train, val = _stratified(np.arange(OFFICIAL_TRAIN), y, n_val, seed)
    return train, val, np.arange(OFFICIAL_TRAIN, OFFICIAL_TRAIN + OFFICIAL_TEST)


SPLITS = {"stratified": stratified_split, "official": official_split}
FRACTION = Interval(float, 0, 1, closed="neither")


@dataclass(frozen=True)
class SplitParams:
    """params.yaml's split section."""

    SECTION: ClassVar[str] = "split"
    method: str = hyperparameter(Choice(lambda: SPLITS))
    seed: int = hyperparameter(SEED)
    val_fraction: float = hyperparameter(FRACTION)
    test_fraction: float = hyperparameter(FRACTION)

    def __post_init__(self) -> None:
        total = self.val_fraction + self.test_fraction
        if self.method == "stratified" and total >= 1:  # official takes MNIST's own test set
            raise Invalid(
                f"split.val_fraction + split.test_fraction = {total:g} is not allowed: "
                "expected a sum < 1 (something must be left to train on)"
            )


def split_rows(y: np.ndarray, split: SplitParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test) as the typed split section asks."""
    return SPLITS[split.method](y, val_fraction=split.val_fraction, test_fraction=split.test_fraction, seed=split.seed)
