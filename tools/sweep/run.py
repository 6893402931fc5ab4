"""`make sweep`: every point of a grid as one Dask task and one DVC experiment, and reports/sweeps/NAME.md.

    python -m tools.sweep.run -S 'train.lambda=0.001,0.0001' [-S ...] [--jobs 2] [--scheduler tcp://HOST:8786]

1. the grid (DVC's `-S` syntax: comma lists, range(), choice(); several -S give the product)
   is expanded here, and each point validated against the committed params.yaml;
2. each point runs as one task on a Dask cluster: a LocalCluster of --jobs worker processes
   with one thread each, or the scheduler at --scheduler (or DASK_SCHEDULER_ADDRESS);
3. a task clones the committed HEAD, runs `dvc exp run -n NAME-i -S ...` and sends the
   experiment back with `dvc exp push`: on one machine into this repository (outputs into
   its DVC cache); with a scheduler, to the git remote (outputs to the committed default
   DVC remote), and the experiments are pulled back here at the end;
4. a failed run is reported with its log while the others go on (exit 1 at the end);
   Ctrl-C or SIGTERM cancels what has not finished and names it (exit 130);
5. reports/sweeps/NAME.md: `make exps`' table of the sweep's runs, failed ones included.
"""

import argparse
import contextlib
import os
import re
import sys
import time
import uuid

from scratchnet.base import boundary
from scratchnet.base.errors import ScratchnetError

from . import cluster as sweep_cluster
from . import grid as sweep_grid
from . import repo as sweep_repo
from . import report as sweep_report
from . import task as sweep_task
from .cluster import say

ADVICE = re.compile(r"`dvc exp run ((?:-S \S+ ?)+)`")  # how a stage's error line names a params change


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "-S",
        "--set-param",
        action="append",
        required=True,
        dest="settings",
        help="a params.yaml override as `dvc exp run -S` takes it; comma values make a grid",
    )
    parser.add_argument("-j", "--jobs", default="2", help="worker processes of the local cluster (default 2)")
    parser.add_argument(
        "--scheduler",
        default="",
        help="address of a running Dask scheduler (default: DASK_SCHEDULER_ADDRESS, else local)",
    )
    parser.add_argument("--name", default="", help="the sweep's name: experiments NAME-1.., reports/sweeps/NAME.md")
    parser.add_argument("--git-remote", default="origin", help="git remote that workers elsewhere clone and push to")
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds one run may take (default 6 h)")
    parser.add_argument("--connect-timeout", type=float, default=60, help="seconds to reach the scheduler")
    parser.add_argument("--dashboard-address", default=":8787", help="the local cluster's dashboard (:0 for any port)")
    return parser.parse_args()


def describe(result, label):
    where = f" on {result['host']}" if result.get("host") else ""
    if result.get("retried"):
        where += " (a retry: the worker of an earlier attempt died)"
    line = f"{result['name']} ({label}): {result['state']} in {sweep_cluster.duration(result['seconds'])}{where}"
    return line + (f": {result['message']}" if result["message"] and result["state"] != "Success" else "")


def main():
    args = parse_args()
    jobs = sweep_grid.jobs(args.jobs)
    name = sweep_grid.sweep_name(args.name or time.strftime("sweep-%Y%m%d-%H%M%S"))
    for option, value in (("--timeout", args.timeout), ("--connect-timeout", args.connect_timeout)):
        if not 0 < value < 1e7:
            raise ScratchnetError(f"{option} = {value:g} is not allowed: expected seconds > 0")
    root, sha, committed = sweep_repo.committed_state()
    os.chdir(root)
    left = sweep_repo.workspace_params_left_out(root, committed)
    if left:
        say(
            f"the runs start from commit {sha[:7]}'s params.yaml; the workspace's {left} "
            f"(an applied experiment's or an edit) is not used: SET='{left}' adds it"
        )
    points = sweep_grid.expand(args.settings, committed, name)
    labels = {p.name: " ".join(o for o in p.overrides if o not in sweep_grid.THREADS) or "defaults" for p in points}

    import dask

    address = args.scheduler or dask.config.get("scheduler-address", None)
    source = sweep_repo.remote_source(root, args.git_remote, sha) if address else root
    names = [p.name for p in points]
    for place in dict.fromkeys([root, source]):
        taken = sweep_repo.existing(place, sha, names, root)
        if taken:
            raise ScratchnetError(
                f"experiments {', '.join(taken)} exist already for commit {sha[:7]} at {place}: "
                f"choose another NAME (or dvc exp remove {' '.join(taken)})"
            )
    report = os.path.join("reports", "sweeps", f"{name}.md")
    if os.path.exists(report):
        raise ScratchnetError(f"{report} exists already: choose another NAME")
    cache = None if address else sweep_repo.cache_dir(root)
    sweep_id = f"{name}-{uuid.uuid4().hex[:8]}"
    specs = [
        {
            "sweep_id": sweep_id,
            "name": p.name,
            "overrides": list(p.overrides),
            "sha": sha,
            "source": source,
            "target": source,
            "cache_dir": cache,
            "timeout": args.timeout,
            "threads": max(p.values["train.threads"], p.values["evaluate.threads"]),
        }
        for p in points
    ]

    say(f"{name}: {len(points)} runs of commit {sha[:7]}, experiments {names[0]}..{names[-1]}")
    started = time.monotonic()
    cluster = sweep_cluster.connect(address, jobs, args.connect_timeout, args.dashboard_address)
    try:
        results = sweep_cluster.run(cluster, specs, labels, args.timeout, progress(labels))
    finally:
        sweep_cluster.close(cluster)
        if cluster.local is not None:
            # The workers ran here; a Ctrl-C on the terminal reaches them too, and a worker that
            # dies of it leaves its runs' directories behind: remove them (and any process left).
            sweep_task.stop_sweep(sweep_id)

    succeeded = [r["name"] for r in results if r["state"] == "Success"]
    if address and succeeded:
        say(f"pulling {len(succeeded)} experiments from {args.git_remote} and the DVC remote")
        sweep_repo.pull(root, args.git_remote, succeeded)
    text, table = sweep_report.text(
        name, sha, args.settings, cluster.where, points, results, time.monotonic() - started
    )
    sweep_report.write(report, text)
    print(table, end="")
    say(
        f"{len(succeeded)} of {len(points)} runs succeeded in {sweep_cluster.duration(time.monotonic() - started)}; "
        f"table: {report}; `dvc exp show`, `make exps` and `dvc exp apply NAME` see them"
    )
    failed = [f"{r['name']} ({labels[r['name']]}): {r['state']}" for r in results if r["state"] != "Success"]
    if failed:
        raise ScratchnetError(
            f"{len(failed)} of {len(points)} runs failed: {'; '.join(failed)} (their logs are above and in {report})"
            + sweep_advice(results)
        )


def sweep_advice(results):
    """A failed run's advice in the sweep's terms: a run's `dvc exp run -S KEY=VALUE` is SET='KEY=VALUE' here."""
    found = []
    for result in results:
        if result["state"] != "Success":
            for command in ADVICE.findall(result["log"] + result["message"]):
                values = " ".join(re.findall(r"-S (\S+)", command))
                if values not in found:
                    found.append(values)
    if not found:
        return ""
    return (
        "; for a sweep the runs' advice reads "
        + " or ".join(f"SET='{v}'" for v in found[:3])
        + " (make sweep ... SET=...)"
    )


def progress(labels):
    """A progress bar on stderr (on a terminal); each ending run said in one line, a failure with its log."""
    from tqdm import tqdm

    @contextlib.contextmanager
    def bar(total):
        with tqdm(total=total, desc="sweep", unit="run", file=sys.stderr, disable=not sys.stderr.isatty()) as shown:

            def on_result(result):
                shown.write(f"sweep: {describe(result, labels[result['name']])}", file=sys.stderr)
                if result["state"] != "Success" and result["log"]:
                    shown.write(
                        f"--- the end of {result['name']}'s log\n{result['log'].rstrip()}\n---", file=sys.stderr
                    )
                shown.update()

            yield on_result

    return bar


if __name__ == "__main__":
    boundary.run(main)
