"""`make bench`: how fast scratchnet trains and predicts on this machine.

Contenders (scratchnet, scikit-learn's MLPClassifier, PyTorch if installed)
are warmed up, then timed one epoch each, round by round, so that a busy
machine slows all of them alike; ratios are taken within a round and the
median is reported. Matmul peak is measured in the same rounds. Timing arrays
are synthetic (timing does not depend on the values); the pipeline part runs
on real MNIST. Prints a table and writes reports/bench.json (not a DVC output).
"""
import argparse
import os
import platform
import statistics
import time
from types import SimpleNamespace

import numpy as np

from ..nn.model import MLP
from ..nn.optim import SGD
from ..nn.train import batch_buffers, train_epoch
from ..pipeline import stage
from ..pipeline.atomic import dumps, write_text
from ..pipeline.datafiles import N_CLASSES, N_PIXELS

HIDDEN, N_TRAIN, N_VAL, N_PREDICT, BATCH, LR, LAM = (512, 256, 128), 56_000, 7_000, 70_000, 64, 0.001, 0.001
SIZES = (N_PIXELS, *HIDDEN, N_CLASSES)


def matmul_gflops(n=2048, repeats=8):
    """float32 GFLOP/s of one large square np.matmul: the machine's practical peak."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    start = time.perf_counter()
    for _ in range(repeats):
        np.matmul(a, b, out=out)
    return repeats * 2 * n ** 3 / (time.perf_counter() - start) / 1e9


def epoch_flops(sizes, rows):
    """FLOPs an epoch computes: forward, weight gradients, and the input gradients
    backprop needs (every layer's but the first, whose input is the data)."""
    products = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    return 2 * rows * (2 * sum(products) + sum(products[1:]))


class Scratchnet:
    name = "scratchnet"

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.model = MLP(SIZES, seed=0)
        self.optimizer = SGD(self.model.params, lr=LR)
        self.rng = np.random.default_rng(0)
        self.buffers = batch_buffers(X, y, BATCH)

    def epoch(self):
        order = self.rng.permutation(len(self.X))
        start = time.perf_counter()
        train_epoch(self.model, self.optimizer, self.X, self.y, order, batch_size=BATCH, lam=LAM,
                    buffers=self.buffers)
        return time.perf_counter() - start


class SklearnMLP:
    name = "scikit-learn"

    def __init__(self, X, y):
        from sklearn.neural_network import MLPClassifier
        self.X, self.y = X, y
        self.model = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="sgd", batch_size=BATCH,
                                   learning_rate_init=LR, alpha=LAM, momentum=0.0,
                                   nesterovs_momentum=False, random_state=0)

    def epoch(self):
        start = time.perf_counter()
        self.model.partial_fit(self.X, self.y, classes=np.arange(10))  # one pass over X
        return time.perf_counter() - start


class Torch:
    name = "pytorch"

    def __init__(self, X, y):
        import torch
        from .reference import torch_mlp, torch_optimizer
        self.net = torch_mlp(MLP(SIZES, seed=0))
        self.optimizer = torch_optimizer(self.net, SimpleNamespace(optimizer="sgd", lr=LR, lam=LAM))
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        self.rng = np.random.default_rng(0)

    def epoch(self):
        from .reference import torch_epoch
        order = self.rng.permutation(len(self.X))
        start = time.perf_counter()
        torch_epoch(self.net, self.optimizer, self.X, self.y, order, BATCH)
        return time.perf_counter() - start


def contenders(X, y):
    found = [Scratchnet(X, y), SklearnMLP(X, y)]
    try:
        found.append(Torch(X, y))
    except ImportError:
        print("bench: PyTorch is not installed (`pip install -e '.[bench]'`); timing without it")
    return found


def timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def measure(rounds):
    rng = np.random.default_rng(0)
    X = rng.random((N_TRAIN, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, 10, N_TRAIN).astype(np.uint8)
    X_val, y_val = X[:N_VAL].copy(), y[:N_VAL].copy()
    X_predict = rng.random((N_PREDICT, SIZES[0]), dtype=np.float32)
    runners = contenders(X, y)
    for runner in runners:  # warm-up: first-touch allocations, thread pools, allocator state
        runner.epoch()

    rows = []
    for r in range(rounds):
        row = {"round": r + 1, "matmul_gflops": matmul_gflops()}
        for runner in runners:
            row[runner.name] = runner.epoch()
        scratch = runners[0].model
        row["evaluate"] = timed(scratch.evaluate, X_val, y_val)
        row["predict"] = timed(scratch.predict, X_predict)
        rows.append(row)
        print(f"bench: round {r + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "round"))
    return rows, [runner.name for runner in runners]


def summarize(rows, names):
    median = lambda key: statistics.median(row[key] for row in rows)  # noqa: E731
    ratio = lambda f: statistics.median(f(row) for row in rows)  # noqa: E731
    flops = epoch_flops(SIZES, N_TRAIN)
    predict_flops = 2 * N_PREDICT * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    summary = {
        "epoch_seconds": {name: median(name) for name in names},
        "matmul_gflops": median("matmul_gflops"),
        "train_gflops": flops / median("scratchnet") / 1e9,
        "train_fraction_of_peak": ratio(lambda r: flops / r["scratchnet"] / 1e9 / r["matmul_gflops"]),
        "predict_images_per_second": N_PREDICT / median("predict"),
        "predict_fraction_of_peak": ratio(lambda r: predict_flops / r["predict"] / 1e9 / r["matmul_gflops"]),
        "evaluate_fraction_of_epoch": ratio(lambda r: r["evaluate"] / (r["scratchnet"] + r["evaluate"])),
    }
    for other in names[1:]:
        summary[f"epoch_ratio_vs_{other}"] = ratio(lambda r: r["scratchnet"] / r[other])
    return summary


def machine():
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}


def table(summary, pipeline):
    lines = [f"{'measure':<44}{'value':>14}  target", "-" * 72]
    for name, seconds in summary["epoch_seconds"].items():
        lines.append(f"{'epoch time, ' + name + ' (s)':<44}{seconds:>14.3f}")
    targets = {"pytorch": "<= 0.6", "scikit-learn": "<= 0.5"}
    for key, value in summary.items():
        if key.startswith("epoch_ratio_vs_"):
            other = key.removeprefix("epoch_ratio_vs_")
            lines.append(f"{'scratchnet / ' + other + ' epoch time':<44}{value:>14.3f}  {targets.get(other, '')}")
    lines += [
        f"{'np.matmul peak (GFLOP/s)':<44}{summary['matmul_gflops']:>14.1f}",
        f"{'training (GFLOP/s)':<44}{summary['train_gflops']:>14.1f}",
        f"{'training, fraction of matmul peak':<44}{summary['train_fraction_of_peak']:>14.3f}  >= 0.5",
        f"{'predict, 70,000 rows (images/s)':<44}{summary['predict_images_per_second']:>14,.0f}",
        f"{'predict, fraction of matmul peak':<44}{summary['predict_fraction_of_peak']:>14.3f}",
        f"{'per-epoch evaluation, fraction of epoch':<44}{summary['evaluate_fraction_of_epoch']:>14.3f}  <= 0.1",
    ]
    if pipeline:
        from .pipeline_bench import table_lines
        lines += table_lines(pipeline)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per contender")
    parser.add_argument("--mnist-dir", help="directory of the four MNIST IDX files: also time the full "
                                            "pipeline and the train stage's peak memory on them")
    parser.add_argument("--out", default="reports/bench.json")
    args = parser.parse_args()

    rows, names = measure(args.rounds)
    result = {"machine": machine(), "rounds": rows, "summary": summarize(rows, names)}
    if args.mnist_dir:
        from .pipeline_bench import run_pipeline
        result["pipeline"] = run_pipeline(args.mnist_dir)
    write_text(args.out, dumps(result))
    print(f"\n{result['machine']['cpu']}, {result['machine']['cores']} cores, numpy {np.__version__}\n")
    print(table(result["summary"], result.get("pipeline")))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    stage.run(main)
