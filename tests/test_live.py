"""Live training metrics: while `dvc exp run` trains, its DVCLive record advances epoch by epoch, and
`make exps` shows the running experiment's latest epoch, marked as such."""

import json
import re
import subprocess
import sys
import threading
import time

import pytest
from pipeline_helpers import DVC, make_project_repo, subprocess_env

pytestmark = pytest.mark.slow  # half a minute of a live `dvc exp run`: `make test-slow` and CI

EPOCHS = 100  # about 0.15 s each on the sample: long enough to watch on a busy machine


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
    seen, looked = [], {}

    def look():
        """What `dvc exp show` and `make exps` print while the run trains: in a thread, so that the
        polling below sees every epoch however long they take on a busy machine."""
        for name, command in (
            ("show", [str(DVC), "exp", "show", "--csv"]),
            ("exps", [sys.executable, "-m", "tools.experiments"]),
        ):
            looked[name] = subprocess.run(command, cwd=repo.path, env=repo.env, capture_output=True, text=True).stdout
            looked[name + " while running"] = proc.poll() is None

    looker = threading.Thread(target=look)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            step = json.loads(live.read_text(encoding="utf-8"))["step"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):  # not yet written, or mid-write
            step = None
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
            if not looker.is_alive() and not looked and 2 <= step < EPOCHS // 2:  # while the run has far to go
                looker.start()
        time.sleep(0.05)
    if looked or looker.is_alive():
        looker.join()
    shown_running = "Running" in looked.get("show", "") and looked.get("show while running")
    lines = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in looked.get("exps", "").splitlines()
        if line[:1] == "|"
    ]
    table_rows = [dict(zip(lines[0], row)) for row in lines[2:] if row[1].startswith("running")] if lines else []
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output
    # Seen advancing, epoch after epoch, before training ended.
    assert len([step for step in seen if step < EPOCHS]) >= 5 and seen == sorted(seen), seen
    assert shown_running, f"dvc exp show never showed the experiment as Running: {looked}"
    # make exps' running row: that epoch's figures, not the previous run's (this repo has none), no test figure
    assert table_rows, "make exps never showed a running row"
    row = table_rows[0]
    assert re.fullmatch(r"running: epoch (\d+)'s figures", row["state"]), row
    assert re.fullmatch(r"\d+\.\d\d%", row["val acc"]) and row["epochs"] == row["state"].split()[2][:-2], row
    assert row["test acc"] == "", row  # no test figure until the run ends
    assert json.loads(live.read_text(encoding="utf-8"))["step"] == EPOCHS
