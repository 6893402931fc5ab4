"""What the evaluate stage reports about a trained model: its metrics on each split, the test
predictions, and the figures, computed by ``evaluate`` and written by ``Evaluation.draw``."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.errors import ModelFileError
from ..base.formats import load_npz, scale_pixels
from ..nn.model import MLP
from . import metrics, plots
from .history import read_history
from .pca import pca
from .sections import EvaluateParams
from .trained import load_trained


@dataclass
class Evaluation:
    """A model's report: ``summary`` (reports/metrics.json), ``per_class``, and what the figures need."""

    model: MLP
    config: dict[str, Any]
    history: list[dict[str, Any]]
    results: dict[str, dict[str, float]]
    per_class: dict[str, Any]
    calibration: dict[str, Any]
    test: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (X uint8, X scaled, y, probabilities)
    settings: EvaluateParams

    @property
    def summary(self) -> dict[str, Any]:
        c = self.config
        return metrics.summary(self.results, c["best_epoch"], c["model_epoch"], c["epochs_run"])

    def predictions_csv(self) -> str:
        """The test digits' (actual, predicted) pairs, one per line after the header."""
        _, _, y, proba = self.test
        return "actual,predicted\n" + "".join(f"{a},{b}\n" for a, b in zip(y, proba.argmax(axis=1)))

    def line(self) -> str:
        val, test = self.results["val"]["accuracy"], self.results["test"]["accuracy"]
        return f"evaluate: val accuracy {val:.4f}, test accuracy {test:.4f}"

    def draw(self, directory: str) -> None:
        """Every figure, as a PNG in ``directory``."""
        model, config, settings = self.model, self.config, self.settings
        X_test, X_test_scaled, y_test, p_test = self.test
        figure = lambda name: os.path.join(directory, f"{name}.png")
        for metric in ("loss", "accuracy"):
            plots.training_curve(self.history, metric, config["model_epoch"], figure(metric))
        plots.confusion(metrics.confusion_matrix(y_test, p_test.argmax(axis=1)), figure("confusion"))
        plots.features(model.weights[0], initial_first_layer(model, config), settings.n_features, figure("features"))
        plots.misclassified(X_test, y_test, p_test, settings.n_misclassified, figure("misclassified"))
        last_hidden = model.activations(X_test_scaled, model.n_layers - 2)
        plots.embedding(
            pca(last_hidden),
            y_test,
            figure("embedding"),
            f"Last hidden layer ({model.sizes[-2]} units) on the test set, PCA",
        )
        plots.reliability(
            {"validation": self.calibration["val"], "test": self.calibration["test"]},
            {"validation": self.results["val"]["ece"], "test": self.results["test"]["ece"]},
            figure("reliability"),
        )


def initial_first_layer(model: MLP, config: dict[str, Any]) -> np.ndarray:
    """The first layer's weights before training: the train stage built the model as
    ``MLP(sizes, seed=model.init_seed)``, whose seed the model file records (load_trained checks it)."""
    return MLP(model.sizes, seed=config["model"]["init_seed"]).weights[0]


def evaluate(model_path: str, split_dir: str, live_dir: str, settings: EvaluateParams) -> Evaluation:
    """The report of the model at ``model_path`` on the splits in ``split_dir``, with the per-epoch
    record in ``live_dir``; ModelFileError if the model's outputs are not finite."""
    model, config = load_trained(model_path)
    history = read_history(live_dir, config["run"])
    results: dict[str, dict[str, float]] = {}
    per_class, calibration, outputs = {}, {}, {}
    for name in ("train", "val", "test"):
        X, y = load_npz(os.path.join(split_dir, f"{name}.npz"))
        X_scaled = scale_pixels(X)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below, not warned of
            loss, accuracy = model.evaluate(X_scaled, y)
        if not math.isfinite(loss):
            raise ModelFileError(
                f"{model_path}: its outputs on the {name} digits are not finite numbers (weights so large that "
                "the products overflow); retrain it: `dvc repro train`"
            )
        results[name] = {"accuracy": accuracy, "loss": loss}
        if name != "train":
            proba = model.predict_proba(X_scaled)
            per_class[name] = metrics.per_class(y, proba.argmax(axis=1))
            calibration[name], results[name]["ece"] = metrics.reliability(y, proba, settings.calibration_bins)
            outputs[name] = (X, X_scaled, y, proba)
    return Evaluation(model, config, history, results, per_class, calibration, outputs["test"], settings)
