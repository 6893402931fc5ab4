"""`make profile`: where one training step's time goes, line by line.

For each optimizer and batch size, a step of the default network (synthetic rows, lambda
0.001, one BLAS thread) runs ``--steps`` times in each of 5 rounds under a line clock: every
line of scratchnet that runs in a step, with its self time in microseconds per step (what the line itself
calls: a NumPy function, an sgemm, Python; the scratchnet lines it calls into are counted on
their own lines) and how often it runs per step. The clock adds its own cost per line, so
the table also gives the same steps untimed, interleaved with the timed ones, and the
products alone (the sgemm calls of forward, backprop and the gradients): what is left of
the untimed step beyond them is the per-step overhead `make bench` reports. Prints a table
per step and writes reports/profile.json (docs/performance.md's table is built from it).

  python -m tools.bench.step_profile [--batch 64 256] [--optimizers sgd,adam] [--steps 200] [--top 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

import scratchnet
from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ParamsError
from scratchnet.base.formats import N_CLASSES, N_PIXELS
from scratchnet.base.strictjson import dumps
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.nn.model import MLP

from .runs import OPTIMIZERS, SIZES, machine, per_step_us, products_alone

ROOT = str(Path(scratchnet.__file__).parent)
KEPT = 30  # lines kept per step in the JSON (the rest summed)


class LineClock:
    """A sys.settrace clock: nanoseconds of self time per (file, line) of scratchnet's code."""

    def __init__(self, root: str = ROOT):
        self.root = root
        self.ns: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.hits: Counter[tuple[str, int]] = Counter()
        self.current: tuple[str, int] | None = None  # the line being charged
        self.stack: list[tuple[str, int] | None] = []  # the calling lines of the frames traced
        self.last = 0

    def _charge(self, now: int) -> None:
        if self.current is not None:
            self.ns[self.current] += now - self.last

    def call(self, frame, event, arg):
        """Global trace function: scratchnet's frames get the line clock, others are part of the calling line."""
        if not frame.f_code.co_filename.startswith(self.root):
            return None
        self._charge(time.perf_counter_ns())
        self.stack.append(self.current)
        self.current = None
        self.last = time.perf_counter_ns()
        return self.line

    def line(self, frame, event, arg):
        self._charge(time.perf_counter_ns())
        if event == "line":
            self.current = (frame.f_code.co_filename, frame.f_lineno)
            self.hits[self.current] += 1
        elif event == "return":
            self.current = self.stack.pop() if self.stack else None
        self.last = time.perf_counter_ns()
        return self.line

    def run(self, f, n: int) -> None:
        self.current, self.stack = None, []
        sys.settrace(self.call)
        try:
            for _ in range(n):
                f()
        finally:
            sys.settrace(None)


def profile(name: str, batch: int, steps: int, rounds: int = 5) -> dict:
    rng = np.random.default_rng(0)
    X, y = rng.random((batch, N_PIXELS), dtype=np.float32), rng.integers(0, N_CLASSES, batch).astype(np.uint8)
    model, optimizer = MLP(SIZES, seed=0), OPTIMIZERS[name]()
    clock, untimed, floor = LineClock(), [], []
    alone = products_alone(X)
    with optimizer.epoch(model):

        def step():
            model.train_step(X, y, optimizer)

        for _ in range(10):
            step()
            alone()
        for _ in range(rounds):  # interleaved: untimed, products alone, timed
            untimed.append(per_step_us(step, steps))
            floor.append(per_step_us(alone, steps))
            clock.run(step, steps)
    n = steps * rounds
    lines = [
        {"us": ns / n / 1e3, "runs": clock.hits[key] / n, "line": where(key), "source": source(key)}
        for key, ns in sorted(clock.ns.items(), key=lambda item: -item[1])
    ]
    for line in lines:
        line["product"] = is_product(line)
    rest = lines[KEPT:]
    products = sum(line["us"] for line in lines if line["product"])
    return {
        "optimizer": name,
        "batch": batch,
        "path": f"{optimizer.fused or 'explicit'}: {optimizer.description}",
        "untimed_us": float(np.median(untimed)),
        "products_us": float(np.median(floor)),
        "timed_us": sum(line["us"] for line in lines),
        "timed_products_us": products,
        "lines": lines[:KEPT],
        "other_lines": {
            "count": len(rest),
            "us": sum(line["us"] for line in rest),
            "runs": sum(line["runs"] for line in rest),
        },
    }


def is_product(line: dict) -> bool:
    """Whether a profiled line is a matrix product: the sgemm call (blas.py) or an np.matmul."""
    return line["line"].startswith("scratchnet/nn/kernels/blas.py") or "matmul(" in line["source"]


def where(key: tuple[str, int]) -> str:
    return f"{Path(key[0]).relative_to(Path(ROOT).parent)}:{key[1]}"


def source(key: tuple[str, int]) -> str:
    try:
        return Path(key[0]).read_text(encoding="utf-8").splitlines()[key[1] - 1].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def report(result: dict, top: int) -> str:
    untimed, products = result["untimed_us"], result["products_us"]
    out = [
        f"\n{result['optimizer']}, batch {result['batch']} ({result['path']}): step {untimed:.0f} us untimed,"
        f" products alone {products:.0f} us, overhead {untimed - products:.0f} us;"
        f" under the line clock {result['timed_us']:.0f} us, of which products {result['timed_products_us']:.0f} us",
        f"{'us/step':>9} {'runs':>5}  line",
    ]
    for line in result["lines"][:top]:
        out.append(f"{line['us']:9.1f} {line['runs']:5.0f}  {line['line']}  {line['source'][:90]}")
    rest = result["lines"][top:]
    other = result["other_lines"]
    if rest or other["count"]:
        us = sum(line["us"] for line in rest) + other["us"]
        runs = sum(line["runs"] for line in rest) + other["runs"]
        out.append(f"{us:9.1f} {runs:5.0f}  {len(rest) + other['count']} other lines")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256], help="batch sizes (default 64 256)")
    parser.add_argument(
        "--optimizers", default=",".join(OPTIMIZERS), help="comma-separated, of " + ", ".join(OPTIMIZERS)
    )
    parser.add_argument("--steps", type=int, default=200, help="steps per round (5 rounds)")
    parser.add_argument("--top", type=int, default=15, help=f"lines printed per step (1 to {KEPT})")
    parser.add_argument("--out", default="reports/profile.json")
    args = parser.parse_args()
    if not all(1 <= b <= 65536 for b in args.batch) or not 1 <= args.steps <= 100_000 or not 1 <= args.top <= KEPT:
        raise ParamsError(
            f"--batch {args.batch} --steps {args.steps} --top {args.top}: expected batches of 1 to 65536 rows,"
            f" 1 to 100000 steps and --top from 1 to {KEPT}"
        )
    optimizers = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    if not optimizers or set(optimizers) - set(OPTIMIZERS):
        raise ParamsError(f"--optimizers {args.optimizers!r}: expected some of {', '.join(OPTIMIZERS)}")
    results = []
    with blas_threads(1):
        for batch in args.batch:
            for name in optimizers:
                results.append(profile(name, batch, args.steps))
                print(report(results[-1], args.top), flush=True)
    write_text(args.out, dumps({"machine": machine(), "steps": args.steps, "threads": 1, "profiles": results}))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    boundary.run(main)
