"""The tools inside the same boundary as the stages: an argument that cannot be used is one `error:`
line and exit 1, never a silent fallback to other data, and a previous report stays as it was."""

import os
import subprocess
import sys

import pytest
from pipeline_helpers import PROJECT_ROOT, subprocess_env

PREVIOUS = '{"previous": "report"}\n'

CASES = [
    # (tool and arguments, what the directory holds, the error's words)
    (
        ["bench.speed", "--mnist-dir", "/no/such/mnist"],
        "nothing",
        "--mnist-dir '/no/such/mnist' (MNIST_DIR): no such directory",
    ),
    (["bench.speed", "--rounds", "0"], "nothing", "--rounds 0 --contended 2: expected >= 1 and >= 0 rounds"),
    (["bench.compare", "--epochs", "-3", "--out", "report.json"], "a report", "--epochs -3: expected an integer >= 1"),
    (
        ["bench.compare", "--idx-dir", "/no/such/mnist", "--out", "report.json"],
        "a report",
        "--idx-dir '/no/such/mnist' (MNIST_DIR): no such directory",
    ),
    (["plots_page"], "nothing", "not at the root of a DVC repository"),
    (["plots_page"], "an empty DVC repository", "nothing to plot yet (reports/live/plots/metrics/train/loss.tsv"),
    (["experiments"], "nothing", "cannot list experiments here"),
    (["estimators", "--epochs", "0", "--out", "report.json"], "a report", "--epochs 0: expected an integer >= 1"),
    (
        ["estimators", "--idx-dir", "/no/such/mnist", "--out", "report.json"],
        "a report",
        "--idx-dir '/no/such/mnist': no such directory",
    ),
    (
        ["photos", "--model", "m.npz", "--idx-dir", "/no/such/mnist", "--out", "report.json"],
        "a report",
        "--idx-dir '/no/such/mnist': no such directory",
    ),
    (
        ["photos", "--model", "m.npz", "--idx-dir", ".", "--n", "0", "--out", "report.json"],
        "a report",
        "--n 0: expected an integer >= 1",
    ),
]


@pytest.mark.parametrize("argv, holds, words", CASES, ids=[f"{c[0][0]}: {c[2][:40]}" for c in CASES])
def test_a_tool_refuses_what_it_cannot_use(tmp_path, argv, holds, words):
    if holds == "a report":
        (tmp_path / "report.json").write_text(PREVIOUS)
    if holds == "an empty DVC repository":
        (tmp_path / ".dvc").mkdir()
    env = {**subprocess_env(tmp_path / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("PWD", None)
    done = subprocess.run(
        [sys.executable, "-m", f"tools.{argv[0]}", *argv[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.count("error: ") == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr, done.stderr
    if holds == "a report":
        assert (tmp_path / "report.json").read_text() == PREVIOUS
    assert set(os.listdir(tmp_path)) <= {"report.json", ".dvc", ".scratch"}  # nothing written


LOST_INTERRUPT = """
import time, weakref
from scratchnet.base.boundary import run

class Thing:
    pass

def main():
    def callback(ref):  # where a signal's KeyboardInterrupt can land (a pool's weakref callback)
        raise KeyboardInterrupt("signal 15")
    thing = Thing()
    ref = weakref.ref(thing, callback)
    del thing
    for _ in range(500):  # ten seconds, unless the interrupt comes through
        time.sleep(0.02)
    print("the interrupt was lost")

run(main)
"""


def test_an_interrupt_raised_in_a_callback_still_stops_the_run(tmp_path):
    """Python only prints ("Exception ignored") an exception raised in a weakref callback or a
    finalizer; an interrupt that lands there must still end the run as an interrupt: exit 130,
    one line, no traceback."""
    env = {**subprocess_env(tmp_path / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", LOST_INTERRUPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stdout + done.stderr
    assert "the interrupt was lost" not in done.stdout
    assert done.stderr.strip() == "interrupted: no partially written file was left behind", done.stderr
