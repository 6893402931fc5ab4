"""`make bench`: how fast scratchnet trains on this machine, against PyTorch, with the machine free and busy.

Each round times one training epoch of every contender (56,000 x 784 float32
rows, batch 64, the default network and lambda, plain SGD): scratchnet and
PyTorch at 1 and 2 BLAS threads, in an order that rotates each round, and in
the same round np.matmul's peak at 1 and 2 threads, the per-epoch validation
pass and predict. Free rounds run as the machine is; in contended rounds the
bench itself keeps a second process busy (a Python busy loop) and stops it
afterwards. Ratios are taken within a round; the table gives medians and ranges.
Then the train stage's peak memory (one real epoch of `stages.train` on random
digits of full size), and with --mnist-dir the whole default pipeline on full
MNIST (pipeline_bench.py). Prints the table, the issue's targets beside the
figures, and writes reports/bench.json (not a DVC output). Timing arrays are
synthetic: timing does not depend on the values.
"""

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ParamsError
from scratchnet.base.formats import N_CLASSES, N_PIXELS
from scratchnet.base.strictjson import dumps
from scratchnet.nn.blas import blas_threads
from scratchnet.nn.fit import batch_buffers, train_epoch
from scratchnet.nn.model import MLP
from scratchnet.nn.sgd import SGD
from scratchnet.sources.idx import idx_problem
from scratchnet.training.distort import Distortion, Prefetcher

HIDDEN, N_TRAIN, N_VAL, N_PREDICT, BATCH, LR, LAM = (512, 256, 128), 56_000, 7_000, 70_000, 64, 0.001, 0.001
SIZES = (N_PIXELS, *HIDDEN, N_CLASSES)
THREADS = (1, 2)
TARGETS = {
    "ratio_2_threads": 0.75,
    "fraction_of_2_thread_peak": 0.60,
    "contended_over_free": 1.1,
    "rss_mb": 600,
    "distorted_over_clean": 1.5,
}
# The distortions of README's lit-elastic-nodrop experiment: affine and elastic together, the costliest.
DISTORTION = Distortion(shift=2, rotation=10.0, scale=0.1, shear=10.0, elastic_alpha=34.0, elastic_sigma=4.0)


def matmul_gflops(threads, n=2048, repeats=4):
    """float32 GFLOP/s of one large square np.matmul with ``threads`` threads: the practical peak."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    with blas_threads(threads):
        np.matmul(a, b, out=out)
        start = time.perf_counter()
        for _ in range(repeats):
            np.matmul(a, b, out=out)
        return repeats * 2 * n**3 / (time.perf_counter() - start) / 1e9


def epoch_flops(sizes, rows):
    """FLOPs an epoch computes: forward, weight gradients, and the input gradients
    backprop needs (every layer's but the first, whose input is the data)."""
    products = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    return 2 * rows * (2 * sum(products) + sum(products[1:]))


class Scratchnet:
    name = "scratchnet"

    def __init__(self, X, y, threads):
        self.X, self.y, self.threads = X, y, threads
        self.model = MLP(SIZES, seed=0)
        self.optimizer = SGD(lr=LR)
        self.rng = np.random.default_rng(0)
        self.buffers = batch_buffers(X, y, BATCH)

    def epoch(self, rows=None):
        order = self.rng.permutation(len(self.X))[:rows]
        with blas_threads(self.threads):
            start = time.perf_counter()
            train_epoch(
                self.model, self.optimizer, self.X, self.y, order, batch_size=BATCH, lam=LAM, buffers=self.buffers
            )
            return time.perf_counter() - start


class Distorted(Scratchnet):
    """scratchnet with freshly distorted images every epoch, prepared one epoch ahead in a thread
    (the train stage's Prefetcher): the epoch's time includes any wait for them."""

    name = "scratchnet+distort"

    def __init__(self, X, y, threads):
        super().__init__(X, y, threads)
        self.prefetcher = Prefetcher(DISTORTION, X, np.random.default_rng(1))

    def epoch(self, rows=None):
        order = self.rng.permutation(len(self.X))[:rows]
        with blas_threads(self.threads):
            start = time.perf_counter()
            train_epoch(
                self.model,
                self.optimizer,
                self.prefetcher.next(),
                self.y,
                order,
                batch_size=BATCH,
                lam=LAM,
                buffers=self.buffers,
            )
            return time.perf_counter() - start

    def close(self):
        self.prefetcher.close()


class Torch:
    name = "pytorch"

    def __init__(self, X, y, threads):
        from .reference import TorchMLP, TorchStep

        self.model = TorchMLP(MLP(SIZES, seed=0), threads)
        self.optimizer = TorchStep(SGD(lr=LR), self.model, LAM)
        self.X, self.y, self.threads = X, y, threads
        self.rng = np.random.default_rng(0)
        self.buffers = batch_buffers(X, y, BATCH)

    def epoch(self, rows=None):
        import torch

        order = self.rng.permutation(len(self.X))[:rows]
        torch.set_num_threads(self.threads)
        with blas_threads(self.threads):
            start = time.perf_counter()
            train_epoch(
                self.model, self.optimizer, self.X, self.y, order, batch_size=BATCH, lam=LAM, buffers=self.buffers
            )
            return time.perf_counter() - start


def contenders(X, y):
    """{"scratchnet@1": runner, ...}: scratchnet and, if installed, PyTorch, at each thread count."""
    kinds = [Scratchnet]
    try:
        import torch  # noqa: F401

        kinds.append(Torch)
    except ImportError:
        print("bench: PyTorch is not installed (`make setup-bench`); timing without it")
    runners = {f"{kind.name}@{threads}": kind(X, y, threads) for kind in kinds for threads in THREADS}
    runners["scratchnet+distort@1"] = Distorted(X, y, 1)
    return runners


@contextlib.contextmanager
def busy_process():
    """A second process keeping one CPU busy (a Python busy loop) while the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # started and spinning
        yield spinner
    finally:
        spinner.terminate()
        spinner.wait()


def timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def measure(free_rounds, contended_rounds):
    """One dict per round: its kind, matmul peaks, every contender's epoch, evaluate and predict."""
    rng = np.random.default_rng(0)
    X = rng.random((N_TRAIN, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, 10, N_TRAIN).astype(np.uint8)
    X_val, y_val = X[:N_VAL].copy(), y[:N_VAL].copy()
    X_predict = rng.random((N_PREDICT, SIZES[0]), dtype=np.float32)
    runners = contenders(X, y)
    for runner in runners.values():  # warm-up: first-touch allocations, thread pools, allocator state
        runner.epoch(rows=50 * BATCH)
    scratch = runners["scratchnet@1"].model

    rows = []
    kinds = ["free"] * free_rounds + ["contended"] * contended_rounds
    for r, kind in enumerate(kinds):
        with busy_process() if kind == "contended" else contextlib.nullcontext():
            row = {"round": r + 1, "kind": kind, "matmul_gflops": {t: matmul_gflops(t) for t in THREADS}}
            names = list(runners)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                row[name] = runners[name].epoch()
            with blas_threads(1):  # as the train stage evaluates, with train.threads = 1
                row["evaluate"] = timed(scratch.evaluate, X_val, y_val)
                row["predict"] = timed(scratch.predict, X_predict)
        rows.append(row)
        print(
            f"bench: round {r + 1} ({kind}): "
            + ", ".join(f"{k} {v:.2f}" for k, v in row.items() if isinstance(v, float)),
            flush=True,
        )
    for runner in runners.values():
        getattr(runner, "close", lambda: None)()
    return rows, list(runners), runners["scratchnet@1"].optimizer.description


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(rows, names):
    """Medians and ranges of the epochs, free and contended, and the figures the targets are about."""
    free = [r for r in rows if r["kind"] == "free"]
    contended = [r for r in rows if r["kind"] == "contended"]
    flops = epoch_flops(SIZES, N_TRAIN)
    summary = {
        "epoch_seconds": {
            kind: {name: spread([r[name] for r in part]) for name in names}
            for kind, part in (("free", free), ("contended", contended))
            if part
        }
    }
    for threads in THREADS:
        if f"pytorch@{threads}" in names:
            summary[f"ratio_{threads}_thread"] = spread(
                [r[f"scratchnet@{threads}"] / r[f"pytorch@{threads}"] for r in free]
            )
        summary[f"fraction_of_{threads}_thread_peak"] = statistics.median(
            flops / r[f"scratchnet@{threads}"] / 1e9 / r["matmul_gflops"][threads] for r in free
        )
    summary["matmul_gflops"] = {t: statistics.median(r["matmul_gflops"][t] for r in free) for t in THREADS}
    summary["train_gflops"] = {
        t: flops / summary["epoch_seconds"]["free"][f"scratchnet@{t}"]["median"] / 1e9 for t in THREADS
    }
    if contended:
        for threads in THREADS:
            own = summary["epoch_seconds"]["free"]["scratchnet@1"]["median"]
            summary[f"contended_{threads}_thread_over_free_1_thread"] = (
                summary["epoch_seconds"]["contended"][f"scratchnet@{threads}"]["median"] / own
            )
    if "scratchnet+distort@1" in names:
        summary["distorted_over_clean"] = spread([r["scratchnet+distort@1"] / r["scratchnet@1"] for r in free])
    summary["evaluate_fraction_of_epoch"] = statistics.median(
        r["evaluate"] / (r["scratchnet@1"] + r["evaluate"]) for r in free
    )
    summary["predict_images_per_second"] = N_PREDICT / statistics.median(r["predict"] for r in free)
    return summary


def machine():
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}


def verdict(value, target, at_most=True):
    met = value <= target if at_most else value >= target
    return f"{'<=' if at_most else '>='} {target:<6g} {'yes' if met else 'NO'}"


def table(result):
    s, path = result["summary"], result["update_path"]
    lines = [
        f"update path: {path}",
        "",
        f"{'seconds per epoch':<28}{'free: median':>13}{'range':>14}{'contended: median':>20}{'range':>14}",
    ]
    for name in s["epoch_seconds"]["free"]:
        cells = []
        for kind in ("free", "contended"):
            e = s["epoch_seconds"].get(kind, {}).get(name)
            cells.append(
                f"{e['median']:>{13 if kind == 'free' else 20}.2f}{e['min']:>8.2f}-{e['max']:<5.2f}" if e else ""
            )
        name_, threads = name.split("@")
        lines.append(f"{name_ + ', ' + threads + (' thread' if threads == '1' else ' threads'):<28}" + "".join(cells))
    lines += ["", f"{'measure':<52}{'value':>10}  target", "-" * 78]
    for threads in THREADS:
        ratio = s.get(f"ratio_{threads}_thread")
        if ratio:
            target = verdict(ratio["median"], TARGETS["ratio_2_threads"]) if threads == 2 else ""
            lines.append(
                f"{f'scratchnet / PyTorch epoch, {threads} thread(s), free rounds':<52}{ratio['median']:>10.3f}  "
                f"{target:<14}(rounds {ratio['min']:.2f}-{ratio['max']:.2f})"
            )
    for threads in THREADS:
        lines.append(f"{f'np.matmul peak, {threads} thread(s) (GFLOP/s)':<52}{s['matmul_gflops'][threads]:>10.0f}")
        lines.append(f"{f'training, {threads} thread(s) (GFLOP/s)':<52}{s['train_gflops'][threads]:>10.0f}")
        target = verdict(s["fraction_of_2_thread_peak"], TARGETS["fraction_of_2_thread_peak"], at_most=False)
        lines.append(
            f"{f'training, fraction of the {threads}-thread matmul peak':<52}"
            f"{s[f'fraction_of_{threads}_thread_peak']:>10.3f}  {target if threads == 2 else ''}"
        )
    for threads in THREADS:
        key = f"contended_{threads}_thread_over_free_1_thread"
        if key in s:
            target = verdict(s[key], TARGETS["contended_over_free"]) if threads == 1 else ""
            lines.append(
                f"{f'contended epoch, {threads} thread(s) / free 1-thread epoch':<52}{s[key]:>10.3f}  {target}"
            )
    if "distorted_over_clean" in s:
        d = s["distorted_over_clean"]
        lines.append(
            f"{'epoch with affine + elastic distortions / without':<52}{d['median']:>10.3f}  "
            f"{verdict(d['median'], TARGETS['distorted_over_clean']):<14}(rounds {d['min']:.2f}-{d['max']:.2f})"
        )
    lines += [
        f"{'per-epoch evaluation, fraction of a 1-thread epoch':<52}{s['evaluate_fraction_of_epoch']:>10.3f}",
        f"{'predict, 70,000 rows, 1 thread (images/s)':<52}{s['predict_images_per_second']:>10,.0f}",
        f"{'train stage peak RSS, one epoch of full size (MB)':<52}{result['train_peak_rss_mb']:>10d}  "
        f"{verdict(result['train_peak_rss_mb'], TARGETS['rss_mb'])}",
    ]
    if result.get("pipeline"):
        from .pipeline_bench import table_lines

        lines += table_lines(result["pipeline"])
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="free rounds (one timed epoch per contender each)")
    parser.add_argument("--contended", type=int, default=2, help="rounds with a second busy process")
    parser.add_argument(
        "--mnist-dir", help="directory of the four MNIST IDX files: also time the full default pipeline on them"
    )
    parser.add_argument("--out", default="reports/bench.json")
    args = parser.parse_args()
    if args.rounds < 1 or args.contended < 0:
        raise ParamsError(f"--rounds {args.rounds} --contended {args.contended}: expected >= 1 and >= 0 rounds")
    if args.mnist_dir is not None and (problem := idx_problem(args.mnist_dir)):
        raise ParamsError(f"--mnist-dir {args.mnist_dir!r} (MNIST_DIR): {problem}")

    from .pipeline_bench import train_stage_peak_rss

    rows, names, path = measure(args.rounds, args.contended)
    result = {
        "machine": machine(),
        "update_path": path,
        "rounds": rows,
        "summary": summarize(rows, names),
        "targets": TARGETS,
        "train_peak_rss_mb": train_stage_peak_rss(),
    }
    if args.mnist_dir:
        from .pipeline_bench import run_pipeline

        result["pipeline"] = run_pipeline(args.mnist_dir)
    write_text(args.out, dumps(result))
    print(f"\n{result['machine']['cpu']}, {result['machine']['cores']} cores, numpy {np.__version__}\n")
    print(table(result))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    boundary.run(main)
