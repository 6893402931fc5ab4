"""`make bench`: how fast scratchnet trains on this machine, against PyTorch with the same optimizer,
with the machine free and busy.

Each round times one epoch, as ``fit`` records it (training on 56,000 x 784 rows, batch 64,
the default network and lambda, then the validation pass on 7,000), of every contender:
SGD, momentum, Nesterov and Adam, on scratchnet and on PyTorch trained through the same
``fit`` (tools/bench/reference.py), at 1 and 2 BLAS threads, in an order that rotates each round;
and in the same round np.matmul's peak at 1 and 2 threads, an epoch with distortions, the
validation pass and predict. Free rounds run as the machine is; in contended rounds the bench
keeps a second process busy. Ratios are taken within a round; the table gives medians and
ranges. Then the per-step overhead (a step against its products alone, batch 64 and 256),
the train stage itself (three epochs of `python -m stages.train` on data of full size: its own
epoch times beside the bench's, and its peak memory), and with --mnist-dir README's fast
recipe on full MNIST beside PyTorch's same recipe (rounds alternating), and with --pipeline
the whole default pipeline. Prints the table with the targets and writes reports/bench.json.
"""

import argparse
import contextlib
import statistics
import subprocess
import sys
import time

import numpy as np

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ParamsError
from scratchnet.base.strictjson import dumps
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.sources.idx import idx_problem

from .runs import OPTIMIZERS, SIZES, Contender, fast_recipe, machine, step_overhead, synthetic

N_TRAIN, N_VAL, N_PREDICT = 56_000, 7_000, 70_000
THREADS = (1, 2)
TARGETS = {
    "ratio_2_threads": {"sgd": 0.65, "momentum": 0.65, "nesterov": 0.65, "adam": 0.9},
    "overhead_us_batch_64": 120,
    "fast_recipe_over_pytorch": 0.85,
    "fast_recipe_seconds": 3.0,
    "contended_over_free": 1.1,
    "rss_mb": 600,
    "distorted_over_clean": 1.5,
}


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


def contenders(data, optimizers):
    """{name: Contender}: each optimizer on scratchnet and, if installed, PyTorch, at each thread count."""
    sides = ["scratchnet"]
    try:
        import torch  # noqa: F401

        sides.append("pytorch")
    except ImportError:
        print("bench: PyTorch is not installed (`make setup-bench`); timing without it")
    runners = [Contender(side, name, threads, data) for name in optimizers for side in sides for threads in THREADS]
    runners.append(Contender("scratchnet", "sgd", 1, data, distort=True))
    return {runner.name: runner for runner in runners}


def measure(free_rounds, contended_rounds, optimizers):
    """One dict per round: its kind, matmul peaks, every contender's epoch, evaluate and predict."""
    data = synthetic(N_TRAIN, N_VAL)
    X_predict = np.random.default_rng(1).random((N_PREDICT, SIZES[0]), dtype=np.float32)
    runners = contenders(data, optimizers)
    for runner in runners.values():  # warm-up: first-touch allocations, thread pools, allocator state
        runner.epoch()
    scratch = next(r for r in runners.values() if r.side == "scratchnet" and r.optimizer_name == "sgd").model
    rows = []
    kinds = ["free"] * free_rounds + ["contended"] * contended_rounds
    for r, kind in enumerate(kinds):
        with busy_process() if kind == "contended" else contextlib.nullcontext():
            row = {"round": r + 1, "kind": kind, "matmul_gflops": {t: matmul_gflops(t) for t in THREADS}}
            names = list(runners)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                row[name] = runners[name].epoch()
            with blas_threads(1):  # as the train stage evaluates, with train.threads = 1
                row["evaluate"] = timed(scratch.evaluate, *data[2:])
                row["predict"] = timed(scratch.predict, X_predict)
        rows.append(row)
        print(f"bench: round {r + 1} ({kind}) done", flush=True)
    paths = {name: runner.path() for name, runner in runners.items()}
    for runner in runners.values():
        runner.close()
    return rows, list(runners), paths


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
        },
        "ratio": {},
        "fraction_of_peak": {},
    }
    optimizers = sorted({n.split(" ")[1].split("@")[0] for n in names}, key=list(OPTIMIZERS).index)
    for name in optimizers:
        for threads in THREADS:
            ours, theirs = f"scratchnet {name}@{threads}", f"pytorch {name}@{threads}"
            if theirs in names:
                summary["ratio"][f"{name}@{threads}"] = spread([r[ours] / r[theirs] for r in free])
            summary["fraction_of_peak"][f"{name}@{threads}"] = statistics.median(
                flops / r[ours] / 1e9 / r["matmul_gflops"][threads] for r in free
            )
    summary["matmul_gflops"] = {t: statistics.median(r["matmul_gflops"][t] for r in free) for t in THREADS}
    if contended:
        own = summary["epoch_seconds"]["free"]["scratchnet sgd@1"]["median"]
        for threads in THREADS:
            summary[f"contended_{threads}_thread_over_free_1_thread"] = (
                summary["epoch_seconds"]["contended"][f"scratchnet sgd@{threads}"]["median"] / own
            )
    if "scratchnet+distort sgd@1" in names:
        summary["distorted_over_clean"] = spread([r["scratchnet+distort sgd@1"] / r["scratchnet sgd@1"] for r in free])
    summary["evaluate_fraction_of_epoch"] = statistics.median(r["evaluate"] / r["scratchnet sgd@1"] for r in free)
    summary["predict_images_per_second"] = N_PREDICT / statistics.median(r["predict"] for r in free)
    return summary


def verdict(value, target, at_most=True):
    met = value <= target if at_most else value >= target
    return f"{'<=' if at_most else '>='} {target:<6g} {'yes' if met else 'NO'}"


def line(label, value, spec=".3f", target="", tail=""):
    """One row of the measures: a label, its value, the target's verdict, what else to say."""
    return f"{label:<58}{value:>10{spec}}  {target:<14}{tail}".rstrip()


def spread_tail(s):
    return f"(rounds {s['min']:.2f}-{s['max']:.2f})"


def table(result):
    s = result["summary"]
    header = f"{'seconds per epoch (fit: train + validation)':<40}{'free: median':>13}{'range':>14}"
    lines = [header + f"{'contended: median':>20}{'range':>14}"]
    for name in s["epoch_seconds"]["free"]:
        cells = []
        for kind, width in (("free", 13), ("contended", 20)):
            e = s["epoch_seconds"].get(kind, {}).get(name)
            cells.append(f"{e['median']:>{width}.2f}{e['min']:>8.2f}-{e['max']:<5.2f}" if e else "")
        lines.append(f"{name:<40}" + "".join(cells))
    lines += ["", f"{'measure':<58}{'value':>10}  target", "-" * 84]
    for key, ratio in s["ratio"].items():
        name, threads = key.split("@")
        target = verdict(ratio["median"], TARGETS["ratio_2_threads"][name]) if threads == "2" else ""
        label = f"scratchnet / PyTorch epoch, {name}, {threads} thread(s)"
        lines.append(line(label, ratio["median"], target=target, tail=spread_tail(ratio)))
    for key, fraction in s["fraction_of_peak"].items():
        name, threads = key.split("@")
        lines.append(line(f"fraction of the {threads}-thread matmul peak, {name}", fraction))
    for threads in THREADS:
        lines.append(line(f"np.matmul peak, {threads} thread(s) (GFLOP/s)", s["matmul_gflops"][threads], ".0f"))
    for batch, overheads in result.get("overhead_us", {}).items():
        for name, us in overheads.items():
            target = verdict(us, TARGETS["overhead_us_batch_64"]) if batch == "64" else ""
            lines.append(line(f"per-step overhead beyond the products, batch {batch}, {name} (us)", us, ".0f", target))
    for name, path in result.get("paths", {}).items():
        if name.startswith("scratchnet ") and name.endswith("@1"):
            lines.append(f"path, {name.removeprefix('scratchnet ').removesuffix('@1')}: {path}")
    for threads in THREADS:
        key = f"contended_{threads}_thread_over_free_1_thread"
        if key in s:
            target = verdict(s[key], TARGETS["contended_over_free"]) if threads == 1 else ""
            lines.append(line(f"contended SGD epoch, {threads} thread(s) / free 1-thread epoch", s[key], target=target))
    if "distorted_over_clean" in s:
        d = s["distorted_over_clean"]
        target = verdict(d["median"], TARGETS["distorted_over_clean"])
        lines.append(
            line(
                "SGD epoch with affine + elastic distortions / without", d["median"], target=target, tail=spread_tail(d)
            )
        )
    lines += [
        line("validation pass, fraction of a 1-thread SGD epoch", s["evaluate_fraction_of_epoch"]),
        line("predict, 70,000 rows, 1 thread (images/s)", s["predict_images_per_second"], ",.0f"),
    ]
    stage = result.get("stage")
    if stage:
        bench_epoch = s["epoch_seconds"]["free"]["scratchnet sgd@1"]["median"]
        rss = stage["peak_rss_mb"]
        lines += [
            line("train stage epoch (its own record, SGD, 1 thread) (s)", stage["epoch_seconds"], ".2f"),
            line("  / the bench fit epoch in the same run", stage["epoch_seconds"] / bench_epoch),
            line("train stage peak RSS (MB)", rss, "d", verdict(rss, TARGETS["rss_mb"])),
        ]
    fast = result.get("fast_recipe")
    if fast:
        for side in ("scratchnet", "pytorch"):
            if fast.get(side):
                seconds, accuracy = fast[side]["seconds"]["median"], fast[side]["accuracy"]["median"]
                target = verdict(seconds, TARGETS["fast_recipe_seconds"]) if side == "scratchnet" else ""
                lines.append(
                    line(
                        f"fast recipe, {side}: seconds (official-test accuracy)",
                        seconds,
                        ".2f",
                        target,
                        f"accuracy {accuracy:.4f}",
                    )
                )
        if fast.get("ratio"):
            r = fast["ratio"]
            target = verdict(r["median"], TARGETS["fast_recipe_over_pytorch"])
            lines.append(
                line("fast recipe, scratchnet / PyTorch time", r["median"], target=target, tail=spread_tail(r))
            )
    if result.get("pipeline"):
        from .pipeline import table_lines

        lines += table_lines(result["pipeline"])
    return "\n".join(lines)


def fast_recipe_rounds(mnist_dir, rounds):
    """README's fast recipe on full MNIST's official split, scratchnet and PyTorch alternating, ``rounds`` each."""
    from scratchnet.base.formats import scale_pixels
    from scratchnet.sources.idx import fetch_idx
    from scratchnet.splits import official_split

    X, y = fetch_idx(mnist_dir)
    train, val, test = official_split(y, val_fraction=0.1, test_fraction=0.1, seed=42)
    X = scale_pixels(X)
    data = (X[train], y[train], X[val], y[val], X[test], y[test])
    sides = ["scratchnet"]
    with contextlib.suppress(ImportError):
        import torch  # noqa: F401

        sides.append("pytorch")
    runs = {side: [] for side in sides}
    for r in range(rounds):
        for side in sides[r % 2 :] + sides[: r % 2]:
            runs[side].append(fast_recipe(side, data))
        print(f"bench: fast recipe round {r + 1} done", flush=True)
    out = {
        side: {"seconds": spread([s for s, _ in v]), "accuracy": spread([a for _, a in v])} for side, v in runs.items()
    }
    out.setdefault("pytorch", None)
    if runs.get("pytorch"):
        out["ratio"] = spread([a[0] / b[0] for a, b in zip(runs["scratchnet"], runs["pytorch"])])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="free rounds (one timed epoch per contender each)")
    parser.add_argument("--contended", type=int, default=2, help="rounds with a second busy process")
    parser.add_argument(
        "--optimizers", default=",".join(OPTIMIZERS), help="comma-separated, of " + ", ".join(OPTIMIZERS)
    )
    parser.add_argument("--mnist-dir", help="directory of the four MNIST IDX files: also time README's fast recipe")
    parser.add_argument("--pipeline", action="store_true", help="with --mnist-dir: also time the default pipeline")
    parser.add_argument("--out", default="reports/bench.json")
    args = parser.parse_args()
    if args.rounds < 1 or args.contended < 0:
        raise ParamsError(f"--rounds {args.rounds} --contended {args.contended}: expected >= 1 and >= 0 rounds")
    optimizers = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    if not optimizers or set(optimizers) - set(OPTIMIZERS):
        raise ParamsError(f"--optimizers {args.optimizers!r}: expected some of {', '.join(OPTIMIZERS)}")
    if args.mnist_dir is not None and (problem := idx_problem(args.mnist_dir)):
        raise ParamsError(f"--mnist-dir {args.mnist_dir!r} (MNIST_DIR): {problem}")
    if args.pipeline and args.mnist_dir is None:
        raise ParamsError("--pipeline needs --mnist-dir (MNIST_DIR), the data it runs on")

    from .pipeline import train_stage_run

    rows, names, paths = measure(args.rounds, args.contended, optimizers)
    result = {
        "machine": machine(),
        "paths": paths,
        "rounds": rows,
        "summary": summarize(rows, names),
        "targets": TARGETS,
    }
    result["overhead_us"] = {str(batch): step_overhead(batch) for batch in (64, 256)}
    result["stage"] = train_stage_run()
    if args.mnist_dir:
        result["fast_recipe"] = fast_recipe_rounds(args.mnist_dir, 3)
        if args.pipeline:
            from .pipeline import run_pipeline

            result["pipeline"] = run_pipeline(args.mnist_dir)
    write_text(args.out, dumps(result))
    m = result["machine"]
    print(
        f"\n{m['cpu']}, {m['cores']} cores, numpy {m['numpy']}"
        + (f", OPENBLAS_CORETYPE={m['openblas_coretype']}" if m["openblas_coretype"] else "")
        + "\n"
    )
    print(table(result))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    boundary.run(main)
