"""Live training metrics: while `dvc exp run` trains, its DVCLive record advances epoch by epoch."""

import json
import subprocess
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
    seen, shown_running = [], False
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
        time.sleep(0.05)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output
    # Seen advancing, epoch after epoch, before training ended.
    assert len([step for step in seen if step < EPOCHS]) >= 5 and seen == sorted(seen), seen
    assert shown_running, "dvc exp show never showed the experiment as Running"
    assert json.loads(live.read_text(encoding="utf-8"))["step"] == EPOCHS
