"""Seeded, stratified train/validation/test split with exact sizes."""
import numpy as np
from sklearn.model_selection import train_test_split

from ..pipeline.errors import DataError


def split_sizes(n, val_fraction, test_fraction):
    """Rows for (train, val, test): val and test are round(fraction * n)."""
    n_val, n_test = round(val_fraction * n), round(test_fraction * n)
    return n - n_val - n_test, n_val, n_test


def stratified_split(y, *, val_fraction, test_fraction, seed):
    """Index arrays (train, val, test) that keep each class's share in every part.

    Two calls to scikit-learn's stratified ``train_test_split`` with integer
    sizes, so the sizes are exact: first the test rows, then validation.
    """
    n_train, n_val, n_test = split_sizes(len(y), val_fraction, test_fraction)
    if min(n_train, n_val, n_test) < 10:  # fewer rows than classes cannot be stratified
        raise DataError(f"{len(y)} rows split {n_train}/{n_val}/{n_test}: every part needs >= 10 rows")
    rows = np.arange(len(y))
    try:
        rest, test = train_test_split(rows, test_size=n_test, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
    except ValueError as e:  # e.g. a class with a single row cannot be stratified
        raise DataError(f"cannot split {len(y)} rows stratified by class: {e}") from None
    return train, val, test
