"""Stage evaluate: model + splits -> reports/metrics.json, per-class metrics, predictions, figures."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.evaluate` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse
import io
import math

import numpy as np

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import ModelFileError
from scratchnet.base.formats import load_npz, scale_pixels
from scratchnet.config import schema
from scratchnet.nn.blas import blas_threads
from scratchnet.nn.init import he_init
from scratchnet.report import metrics, plots
from scratchnet.report.history import read_history
from scratchnet.report.params import EvaluateParams
from scratchnet.report.pca import pca
from scratchnet.report.trained import load_trained


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="the model .npz written by the train stage")
    parser.add_argument("split_dir", help="directory holding train.npz, val.npz and test.npz")
    parser.add_argument("live", help="the train stage's DVCLive directory (the per-epoch record)")
    parser.add_argument("metrics", help="the metrics JSON to write")
    parser.add_argument("per_class", help="the per-class metrics JSON to write")
    parser.add_argument("predictions", help="the CSV of test (actual, predicted) pairs to write")
    parser.add_argument("figures", help="directory for the PNG figures")
    args = parser.parse_args()

    params = schema.load(EvaluateParams)
    [cfg] = params
    with blas_threads(cfg.threads):
        evaluate(args, cfg, params.verify)


def evaluate(args, cfg, verify_params):
    model, config = load_trained(args.model)
    history = read_history(args.live, config["run"])

    results, per_class, proba, calibration = {}, {}, {}, {}
    for name in ("train", "val", "test"):
        X, y = load_npz(os.path.join(args.split_dir, f"{name}.npz"))
        X_scaled = scale_pixels(X)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below, not warned of
            loss, accuracy = model.evaluate(X_scaled, y)
        if not math.isfinite(loss):
            raise ModelFileError(
                f"{args.model}: its outputs on the {name} digits are not finite numbers (weights so large that "
                "the products overflow); retrain it: `dvc repro train`"
            )
        results[name] = {"accuracy": accuracy, "loss": loss}
        if name != "train":
            proba[name] = (X, X_scaled, y, model.predict_proba(X_scaled))
            per_class[name] = metrics.per_class(y, proba[name][3].argmax(axis=1))
            calibration[name], results[name]["ece"] = metrics.reliability(y, proba[name][3], cfg.calibration_bins)

    summary = metrics.summary(results, config["best_epoch"], config["model_epoch"], config["epochs_run"])
    X_test, X_test_scaled, y_test, p_test = proba["test"]
    predicted = p_test.argmax(axis=1)
    table = io.StringIO()
    table.write("actual,predicted\n")
    table.writelines(f"{a},{b}\n" for a, b in zip(y_test, predicted))

    # Every output goes to a temporary first: a failure anywhere leaves the previous set whole.
    # The summary line is written before the outputs replace the previous ones: a closed or full
    # standard output is an error that leaves them as they were.
    with atomic.outputs() as out:
        out.before_commit(verify_params)
        out.write_json(args.metrics, summary)
        out.write_json(args.per_class, per_class)
        out.write_text(args.predictions, table.getvalue())
        figures = out.directory(args.figures)  # replaced whole: no figure of an earlier run lingers
        figure = lambda name: os.path.join(figures, f"{name}.png")
        for metric in ("loss", "accuracy"):
            plots.training_curve(history, metric, config["model_epoch"], figure(metric))
        plots.confusion(metrics.confusion_matrix(y_test, predicted), figure("confusion"))
        initial = he_init(model.sizes[:2], np.random.default_rng(config["model"]["init_seed"]))[0][0]
        plots.features(model.weights[0], initial, cfg.n_features, figure("features"))
        plots.misclassified(X_test, y_test, p_test, cfg.n_misclassified, figure("misclassified"))
        last_hidden = model.activations(X_test_scaled, model.n_layers - 2)
        plots.embedding(
            pca(last_hidden),
            y_test,
            figure("embedding"),
            f"Last hidden layer ({model.sizes[-2]} units) on the test set, PCA",
        )
        plots.reliability(
            {"validation": calibration["val"], "test": calibration["test"]},
            {"validation": results["val"]["ece"], "test": results["test"]["ece"]},
            figure("reliability"),
        )
        print(
            f"evaluate: val accuracy {results['val']['accuracy']:.4f}, test accuracy {results['test']['accuracy']:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    boundary.run(main)
