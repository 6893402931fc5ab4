"""`make sweep` end to end: the real dvc in temporary repositories, a Dask cluster of 2 worker processes.

Every run is a DVC experiment in the user's repository (`dvc exp show` and `dvc exp
apply` see it); a failing point is reported with its log while the others finish; a
worker killed mid-run is retried without a duplicate experiment; SIGTERM cancels and
leaves no process behind; across machines the runs travel through a bare git remote and
a directory DVC remote. Bad input is one error line, before any cluster starts.
"""

import ast
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from pipeline_helpers import BIN, PROJECT_ROOT, Repo, make_project_repo, subprocess_env
from ruamel.yaml import YAML

FAST = ("-S", "model.hidden_sizes=[64]")  # a small network: the runs are mostly DVC and Python start-up


@pytest.fixture
def project(tmp_path):
    env = subprocess_env(tmp_path / "dvc-state")
    env["TMPDIR"] = str(tmp_path / "tmp")  # where the tasks clone: checked empty afterwards
    os.makedirs(env["TMPDIR"])
    return make_project_repo(tmp_path / "user", env)


def sweep_cmd(*args):
    return [BIN / "python", "-m", "tools.sweep.run", "--dashboard-address", ":0", *args]


def sweep(repo, *args):
    return repo.run(*sweep_cmd(*args), check=False)


def exp_names(repo):
    return sorted(repo.dvc("exp", "list", "--name-only").stdout.split())


def exp_results(repo):
    """{experiment name: (params, metrics)} from `dvc exp show --json`."""
    out = {}
    for baseline in json.loads(repo.dvc("exp", "show", "--json").stdout):
        for experiment in baseline.get("experiments") or []:
            for rev in experiment["revs"]:
                data = rev["data"]
                out[rev["name"]] = (
                    data["params"]["params.yaml"]["data"],
                    data["metrics"]["reports/metrics.json"]["data"],
                )
    return out


def report_rows(repo, name):
    lines = repo.file(f"reports/sweeps/{name}.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| experiment"))
    split = lambda line: [cell.strip() for cell in line.strip("|").split("|")]
    header = split(lines[start])
    rows = [split(line) for line in lines[start + 2 :] if line.startswith("|")]
    return header, {row[0]: dict(zip(header, row)) for row in rows}


def no_task_files_left(repo):
    left = Path(repo.env["TMPDIR"]) / "scratchnet-sweep"
    return not left.exists() or not any(left.iterdir())


# --- the grid, every point an experiment --------------------------------------------------


@pytest.mark.slow
def test_a_four_point_grid_is_four_experiments_that_dvc_shows_and_applies(project):
    repo = project
    done = sweep(
        repo, "-S", "train.lambda=0.001,0.0001", "-S", "train.lr=0.05,0.1", *FAST, "--jobs", "2", "--name", "grid"
    )
    assert done.returncode == 0, done.stderr
    assert "waiting for 4 runs on a local Dask cluster of 2 worker processes" in done.stderr
    assert exp_names(repo) == ["grid-1", "grid-2", "grid-3", "grid-4"]
    results = exp_results(repo)
    points = {"grid-1": (0.001, 0.05), "grid-2": (0.001, 0.1), "grid-3": (0.0001, 0.05), "grid-4": (0.0001, 0.1)}
    for name, (lam, lr) in points.items():
        params, metrics = results[name]
        assert (params["train"]["lambda"], params["train"]["lr"]) == (lam, lr), name
        assert params["model"]["hidden_sizes"] == [64] and params["train"]["threads"] == 1
        assert metrics["model"]["val"]["accuracy"] > 0.5, name

    header, rows = report_rows(repo, "grid")
    assert header[:2] == ["experiment", "state"] and set(header[2:4]) == {"train.lr", "train.lambda"}, header
    assert sorted(rows) == sorted(points) and all(r["state"] == "Success" for r in rows.values())
    for name, row in rows.items():
        assert row["val acc"] == f"{100 * results[name][1]['model']['val']['accuracy']:.2f}%"
    assert done.stdout.rstrip() == repo.file("reports/sweeps/grid.md").read_text().split("\n\n")[2].rstrip()
    assert no_task_files_left(repo)

    # The outputs are in the user's DVC cache: dvc exp apply restores model and metrics.
    repo.dvc("exp", "apply", "grid-3")
    assert "lambda: 0.0001" in repo.file("params.yaml").read_text()
    assert repo.file("data/model/model.npz").stat().st_size > 0
    assert json.loads(repo.file("reports/metrics.json").read_text()) == results["grid-3"][1]


@pytest.mark.slow
def test_a_failing_point_is_reported_with_its_log_while_the_others_finish(project):
    repo = project
    done = sweep(repo, "-S", "train.lr=0.05,1e30", *FAST, "--jobs", "2", "--name", "bad")
    assert done.returncode == 1, done.stderr
    assert "bad-2 (train.lr=1e+30 model.hidden_sizes=[64]): Failed" in done.stderr
    assert "training diverged" in done.stderr  # the run's log, on stderr as it ends
    assert done.stderr.splitlines()[-1].startswith("error: 1 of 2 runs failed: bad-2 (train.lr=1e+30")
    assert exp_names(repo) == ["bad-1"]
    header, rows = report_rows(repo, "bad")
    assert header[:3] == ["experiment", "state", "train.lr"], header
    assert rows["bad-1"]["state"] == "Success" and rows["bad-2"]["state"] == "Failed"
    assert rows["bad-2"]["train.lr"] == "1e+30" and rows["bad-2"]["val acc"] == ""
    params, metrics = exp_results(repo)["bad-1"]
    assert rows["bad-1"]["val acc"] == f"{100 * metrics['model']['val']['accuracy']:.2f}%"
    report = repo.file("reports/sweeps/bad.md").read_text()
    assert "## bad-2: Failed" in report and "training diverged" in report
    assert done.stdout.rstrip() == report.split("\n\n")[2].rstrip()  # the table
    assert no_task_files_left(repo)

    # The outputs went to the user's DVC cache: dvc exp apply restores model and metrics.
    repo.dvc("exp", "apply", "bad-1")
    assert YAML(typ="safe").load(repo.file("params.yaml").read_text())["model"]["hidden_sizes"] == [64]
    assert repo.file("data/model/model.npz").stat().st_size > 0
    assert json.loads(repo.file("reports/metrics.json").read_text()) == metrics


# --- bad input: one error line, nothing started --------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("--jobs", "0"), "error: JOBS = '0' is not allowed: expected an integer in 1..64"),
        (("--jobs", "two"), "error: JOBS = 'two' is not allowed"),
        (("-S", "train.lr=-1,0.1"), "error: grid point 1 (train.lr=-1): train.lr = -1 is not allowed"),
        (("-S", "train.lr=(0.1"), "error: grid: 'train.lr=(0.1' is not DVC's -S syntax"),
        (("-S", "train.lr=0.1", "-S", "train.nope=1"), "error: grid point 1 (train.lr=0.1 train.nope=1): unknown key"),
        (("-S", "train.lr=interval(0,1)"), "error: grid: 'train.lr=interval(0,1)': DVC's grid takes lists"),
        (("-S", "train.lr=0.1", "--name", "a b"), "error: NAME = 'a b' is not allowed"),
        (("-S", "train.lr=0.1", "--scheduler", "tcp://127.0.0.1:9"), "error: no git remote 'origin' here"),
    ],
)
def test_bad_input_is_one_error_line(project, args, message):
    done = sweep(project, *([] if "-S" in args else ["-S", "train.lr=0.1"]), *args)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith(message), done.stderr
    assert not project.file("reports/sweeps").exists()


def test_the_repository_must_be_there_committed_and_the_names_free(project, tmp_path):
    repo = project
    outside = Repo(tmp_path / "outside", dict(repo.env, PYTHONPATH=str(PROJECT_ROOT)))
    outside.path.mkdir()
    done = outside.run(*sweep_cmd("-S", "train.lr=0.1"), check=False)
    assert (done.returncode, done.stderr.splitlines()[-1:]) == (1, [done.stderr.strip()])
    assert "is not inside a git repository" in done.stderr

    code = repo.file("stages/train.py")
    code.write_text(code.read_text(encoding="utf-8") + "# an edit\n", encoding="utf-8")
    done = sweep(repo, "-S", "train.lambda=0.1")
    assert done.returncode == 1 and done.stderr.startswith("error: uncommitted changes to stages/train.py"), done.stderr
    repo.git("checkout", "--", "stages/train.py")

    # What `dvc exp run -S` leaves in params.yaml is no reason to refuse: the sweep names it, and goes on
    # (here to the next check).
    repo.set_params({"train.lr": 0.2})
    head = repo.git("rev-parse", "HEAD").stdout.strip()
    repo.git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/taken-2", "HEAD")
    done = sweep(repo, "-S", "train.lambda=0.1,0.2", "--name", "taken")
    assert (
        "the workspace's train.lr=0.2" in done.stdout + done.stderr
        and "SET='train.lr=0.2'" in done.stdout + done.stderr
    )
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and last.startswith("error: experiments taken-2 exist already"), done.stderr


def test_the_grid_is_dvcs_own_expansion(project, monkeypatch):
    """The points are those `dvc exp run --queue` would queue for the same -S values."""
    repo = project
    grid = ["train.lambda=0.1,0.2", "train.lr=range(1,3)", "train.optimizer=choice(sgd,adam)"]
    queued = repo.dvc("exp", "run", "--queue", *(a for g in grid for a in ("-S", g))).stdout
    repo.dvc("queue", "remove", "--queued")
    dvc_points = [
        ast.literal_eval(text)["params.yaml"]
        for text in (
            line.split("overrides ", 1)[1].rstrip(".").strip("'")
            for line in queued.splitlines()
            if line.startswith("Queueing with overrides")
        )
    ]
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    from tools.sweep import grid as sweep_grid

    ours = sweep_grid.expand(grid, YAML(typ="safe").load(repo.file("params.yaml").read_text()), "g")
    assert [[o for o in p.overrides if o not in sweep_grid.THREADS] for p in ours] == dvc_points
    assert len(dvc_points) == 8


# --- faults: a worker killed, SIGTERM, and across machines ------------------------------------


def start_sweep(repo, *args):
    return subprocess.Popen(
        [str(c) for c in sweep_cmd(*args)],
        cwd=repo.path,
        env=repo.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_training(proc, timeout=180):
    """The first `stages.train` process below the sweep ``proc``."""
    me, deadline = psutil.Process(proc.pid), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in me.children(recursive=True):
            try:
                if "stages.train" in " ".join(child.cmdline()):
                    return me, child
            except psutil.NoSuchProcess:
                pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("no training started")


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_without_a_duplicate_experiment(project):
    repo = project
    proc = start_sweep(repo, "-S", "train.lambda=0.001,0.0001", *FAST, "--jobs", "2", "--name", "kill")
    sweep_process, train = wait_for_training(proc)
    worker = next(p for p in [train, *train.parents()] if p.ppid() == sweep_process.pid)
    worker.send_signal(signal.SIGKILL)
    train.wait(timeout=10)  # its process group died with the worker
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "(a retry: the worker of an earlier attempt died)" in err
    assert exp_names(repo) == ["kill-1", "kill-2"]
    heads = repo.git("for-each-ref", "refs/exps").stdout
    assert heads.count("/kill-1\n") == heads.count("/kill-2\n") == 1
    assert no_task_files_left(repo)


@pytest.mark.slow
def test_sigterm_cancels_names_the_unfinished_runs_and_leaves_no_process(project):
    repo = project
    proc = start_sweep(repo, "-S", "train.lambda=0.001,0.0001,0.01", *FAST, "--jobs", "2", "--name", "term")
    sweep_process, _ = wait_for_training(proc)
    started = sweep_process.children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "sweep: interrupted: cancelled the 3 runs that did not finish: term-1 (train.lambda=0.001" in err
    gone, alive = psutil.wait_procs(started, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    assert not repo.file("reports/sweeps/term.md").exists()
    assert no_task_files_left(repo)


@pytest.mark.slow
def test_across_machines_through_a_git_remote_and_a_dvc_remote(project, tmp_path):
    user, env = project, project.env
    Repo(tmp_path, env).run("git", "clone", "-q", "--bare", str(user.path), str(tmp_path / "origin.git"))
    Repo(tmp_path, env).run("git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "alice"))
    alice = Repo(tmp_path / "alice", env)
    alice.dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"))
    alice.commit("a DVC remote")
    alice.git("push", "-q", "origin", "HEAD")

    # "Other machines": a scheduler and two workers started elsewhere, as `dask scheduler/worker`.
    machines = tmp_path / "machines"
    machines.mkdir()
    info = machines / "scheduler.json"
    dask_cli = [str(BIN / "dask")]
    started = [
        subprocess.Popen(
            dask_cli
            + [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
                str(info),
            ],
            cwd=machines,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    dask_cli + ["worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1"],
                    cwd=machines,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        done = alice.run(
            *sweep_cmd("-S", "train.lambda=0.001,0.0001", *FAST, "--scheduler", address, "--name", "far"), check=False
        )
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert f"waiting for 2 runs on the Dask scheduler at {address}" in done.stderr
    assert exp_names(alice) == ["far-1", "far-2"]  # pulled back into the user's clone
    assert "far-1" in alice.dvc("exp", "list", "origin", "--name-only").stdout

    Repo(tmp_path, env).run("git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "bob"))
    bob = Repo(tmp_path / "bob", env)
    bob.dvc("exp", "pull", "origin", "far-2")
    bob.dvc("exp", "apply", "far-2")
    assert "lambda: 0.0001" in bob.file("params.yaml").read_text()
    assert bob.file("data/model/model.npz").stat().st_size > 0
    assert json.loads(bob.file("reports/metrics.json").read_text()) == exp_results(alice)["far-2"][1]
