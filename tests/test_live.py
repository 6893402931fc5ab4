"""Live training metrics: while `dvc exp run` trains, its DVCLive record advances epoch by epoch, and
`make exps` shows the running experiment's latest epoch, marked as such."""

import json
import re
import subprocess
import sys
import time

import pytest
from pipeline_helpers import DVC, make_project_repo, subprocess_env

pytestmark = pytest.mark.slow  # half a minute of a live `dvc exp run`: `make test-slow` and CI

EPOCHS = 40  # about 0.15 s each on the sample: long enough to watch


def test_the_metrics_file_of_a_running_experiment_advances(tmp_path):
    repo = make_project_repo(tmp_path / "repo", subprocess_env(tmp_path / "dvc-state"))
    repo.set_params({"train.epochs": EPOCHS})
    repo.commit("watch this one")
    live = repo.file("reports/live/metrics.json")
    proc = subprocess.Popen(
        [str(DVC), "exp", "run"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen, shown_running, table_rows = [], False, []
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            step = json.loads(live.read_text(encoding="utf-8"))["step"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):  # not yet written, or mid-write
            step = None
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
            if not shown_running and 2 <= step < EPOCHS - 10:  # `dvc exp show` sees the run, live
                table = subprocess.run(
                    [str(DVC), "exp", "show", "--csv"], cwd=repo.path, env=repo.env, capture_output=True, text=True
                ).stdout
                shown_running = "Running" in table
                exps = subprocess.run(
                    [sys.executable, "-m", "tools.experiments"],
                    cwd=repo.path,
                    env=repo.env,
                    capture_output=True,
                    text=True,
                ).stdout
                lines = [
                    [c.strip() for c in line.strip("|").split("|")] for line in exps.splitlines() if line[:1] == "|"
                ]
                table_rows += [dict(zip(lines[0], row)) for row in lines[2:] if row[1].startswith("running")]
        time.sleep(0.05)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output
    # Seen advancing, epoch after epoch, before training ended.
    assert len([step for step in seen if step < EPOCHS]) >= 5 and seen == sorted(seen), seen
    assert shown_running, "dvc exp show never showed the experiment as Running"
    # make exps' running row: that epoch's figures, not the previous run's (this repo has none), no test figure
    assert table_rows, "make exps never showed a running row"
    row = table_rows[0]
    assert re.fullmatch(r"running: epoch (\d+)'s figures", row["state"]), row
    assert re.fullmatch(r"\d+\.\d\d%", row["val acc"]) and row["epochs"] == row["state"].split()[2][:-2], row
    assert row["test acc"] == "", row  # no test figure until the run ends
    assert json.loads(live.read_text(encoding="utf-8"))["step"] == EPOCHS
