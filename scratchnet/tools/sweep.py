"""Write reports/sweep.md from `dvc exp show --json`: one row per experiment.

`make sweep` queues one experiment per lambda, runs the queue, then calls
``python -m scratchnet.sweep``. Every experiment of the current commit is
listed, sorted by validation accuracy, with the settings that tell them apart.
"""
import argparse
import json
import os
import subprocess
import sys

from ..pipeline import stage
from ..pipeline.atomic import write_text
from ..pipeline.errors import ScratchnetError

COLUMNS = ("experiment", "lambda", "optimizer", "dropout", "val accuracy", "test accuracy",
           "loss gap", "accuracy gap", "best epoch", "epochs")


def experiments(show):
    """Rows of (name, params, metrics) for each experiment in `dvc exp show --json` output."""
    rows = []
    for baseline in show:
        for experiment in baseline.get("experiments") or []:
            for rev in experiment["revs"]:
                data = rev.get("data") or {}
                params = data.get("params", {}).get("params.yaml", {}).get("data")
                metrics = data.get("metrics", {}).get("reports/metrics.json", {}).get("data")
                if params and metrics:
                    rows.append((rev.get("name") or rev["rev"][:7], params, metrics))
    return rows


def row(name, params, metrics):
    percent = lambda x: f"{100 * x:.2f}%"  # noqa: E731
    # float(): a YAML 1.1 reader may hand back `5e-05` as written by `dvc exp run -S` as a string
    return (name, f"{float(params['train']['lambda']):g}", params["train"]["optimizer"],
            f"{float(params['model']['dropout']):g}", percent(metrics["val"]["accuracy"]),
            percent(metrics["test"]["accuracy"]), percent(metrics["loss_gap"]),
            f"{100 * metrics['accuracy_gap']:.2f} pp", str(metrics["best_epoch"]), str(metrics["epochs"]))


def markdown(rows):
    rows = sorted(rows, key=lambda r: -r[2]["val"]["accuracy"])
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(*r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="the markdown file to write, e.g. reports/sweep.md")
    parser.add_argument("--lambdas", nargs="*", type=float, default=[],
                        help="lambdas the sweep queued: fail if one has no finished experiment")
    parser.add_argument("--json", help="read this `dvc exp show --json` output instead of running dvc")
    args = parser.parse_args()

    if args.json:
        with open(args.json, encoding="utf-8") as f:
            try:
                show = json.load(f)
            except ValueError as e:
                raise ScratchnetError(f"{args.json}: not `dvc exp show --json` output ({e})") from None
    else:
        dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
        done = subprocess.run([dvc, "exp", "show", "--json"], capture_output=True, text=True)
        if done.returncode:
            raise ScratchnetError(f"`dvc exp show --json` failed:\n{done.stderr}")
        show = json.loads(done.stdout)
    rows = experiments(show)
    found = {float(r[1]["train"]["lambda"]) for r in rows}
    missing = [lam for lam in args.lambdas if not any(abs(lam - f) <= 1e-12 for f in found)]
    write_text(args.out, markdown(rows))
    print(markdown(rows), end="")
    if missing:
        raise ScratchnetError(f"no finished experiment for lambda {', '.join(map(str, missing))} "
                 "(see `dvc queue status` and `dvc queue logs`)")


if __name__ == "__main__":
    stage.run(main)
