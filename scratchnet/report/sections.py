"""params.yaml's evaluate section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..base.constraints import Interval, hyperparameter
from ..nn.kernels.blas import THREADS


@dataclass(frozen=True)
class EvaluateParams:
    SECTION: ClassVar[str] = "evaluate"
    calibration_bins: int = hyperparameter(Interval(int, 2, 1000))  # of the reliability diagram and the ECE
    n_misclassified: int = hyperparameter(Interval(int, 1, 400))  # test digits in misclassified.png
    n_features: int = hyperparameter(Interval(int, 1, 1024))  # first-layer weight vectors in features.png
    threads: int = hyperparameter(THREADS)
