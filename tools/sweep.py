"""`make sweep`: a grid of experiments, queued and run the current DVC way, and reports/sweep.md.

1. ``dvc exp run --queue -S 'train.lambda=0.001,0.0001,0.00005'`` queues one experiment per
   value (several ``-S`` give every combination; DVC's grid syntax);
2. ``dvc queue start -j JOBS`` runs them, JOBS at a time;
3. the tool waits until none of them is queued or running (``dvc queue status``);
4. a failed experiment is reported with its log (``dvc queue logs NAME``), and the tool exits 1;
5. reports/sweep.md is the compact table of `make exps`, for the experiments of this sweep.

Queued experiments see only the files git tracks: commit new code first.
"""

import argparse
import os
import re
import subprocess
import sys
import time

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ScratchnetError

from .experiments import markdown, rows, table

DVC = os.path.join(os.path.dirname(sys.executable), "dvc")


def dvc(*args):
    done = subprocess.run([DVC, *args], capture_output=True, text=True)
    if done.returncode:
        raise ScratchnetError(f"`dvc {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def queue(grid):
    """Queue the grid (a list of ``-S`` values); the names DVC gave the experiments."""
    output = dvc("exp", "run", "--queue", *(a for s in grid for a in ("-S", s)))
    names = re.findall(r"Queued experiment '([^']+)'", output)
    if not names:
        raise ScratchnetError(f"`dvc exp run --queue` queued nothing:\n{output}")
    return names


def states(names):
    """{name: Queued/Running/Success/Failed} of ``names`` in `dvc queue status` (it has no --json;
    Created may be several words, so the status is the last column)."""
    found = {}
    for line in dvc("queue", "status").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[1] in names:
            found[fields[1]] = fields[-1]
    return found


def wait(names, timeout, poll=2.0):
    """Block until none of ``names`` is queued or running; return the names that failed."""
    deadline = time.monotonic() + timeout
    while True:
        now = states(names)
        busy = [n for n, s in now.items() if s in ("Queued", "Running")]
        if not busy:
            return [n for n, s in now.items() if s == "Failed"]
        if time.monotonic() > deadline:
            raise ScratchnetError(
                f"experiments {', '.join(busy)} still queued or running after {timeout} s (see `dvc queue status`)"
            )
        time.sleep(poll)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "-S",
        "--set",
        action="append",
        required=True,
        dest="grid",
        help="a params.yaml override, with comma-separated values for a grid "
        "(as `dvc exp run -S`); repeat for more keys",
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="experiments to run at a time")
    parser.add_argument("--out", default="reports/sweep.md")
    parser.add_argument("--timeout", type=float, default=7 * 24 * 3600, help="seconds to wait for the queue")
    args = parser.parse_args()

    names = queue(args.grid)
    print(f"sweep: queued {len(names)} experiments: {', '.join(names)}", flush=True)
    dvc("queue", "start", "-j", str(args.jobs))
    failed = wait(names, args.timeout)
    for name in failed:
        print(f"--- dvc queue logs {name}", file=sys.stderr)
        print(subprocess.run([DVC, "queue", "logs", name], capture_output=True, text=True).stdout, file=sys.stderr)

    header, body = table([r for r in rows() if r.get("Experiment") in names])
    text = markdown(header, body)
    write_text(args.out, text)
    print(text, end="")
    if failed:
        raise ScratchnetError(
            f"{len(failed)} of {len(names)} experiments failed: {', '.join(failed)} (their logs are above)"
        )


if __name__ == "__main__":
    boundary.run(main)
