"""Standard streams, closed or full (/dev/full), for every entry point and tool: a table over
{stdout, stderr} x {closed, full}, each entry point run as its own process in a run that works
and in one that fails.

Standard error carries only progress and diagnostics: closed or full, the work goes on (exit 0)
and a failure's ``error:`` line goes to standard output. Standard output carries what the entry
point produces (a stage's summary, predictions, a table): closed or full, that is one ``error:
standard output: ...`` line on standard error, exit 1; a failure of the work itself is still its
own one line.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import PROJECT_ROOT, subprocess_env
from tiny_workspace import STAGE_ARGS, make_finished_workspace

STREAMS = {
    ("stderr", "closed"): "exec 2>&-",
    ("stderr", "full"): "exec 2>/dev/full",
    ("stdout", "closed"): "exec 1>&-",
    ("stdout", "full"): "exec 1>/dev/full",
}
MISSING = "no/such/file.npz"
# entry point: (argv of a run that works, or None where every run takes minutes; argv of a run that fails)
ENTRY_POINTS = {
    "stage fetch": (["-m", "stages.fetch", *STAGE_ARGS["fetch"]], None),
    "stage split": (["-m", "stages.split", *STAGE_ARGS["split"]], ["-m", "stages.split", MISSING, "data/split"]),
    "stage train": (
        ["-m", "stages.train", *STAGE_ARGS["train"]],
        ["-m", "stages.train", "no/such", *STAGE_ARGS["train"][1:]],
    ),
    "stage evaluate": (
        ["-m", "stages.evaluate", *STAGE_ARGS["evaluate"]],
        ["-m", "stages.evaluate", MISSING, *STAGE_ARGS["evaluate"][1:]],
    ),
    "predict": (
        ["-m", "scratchnet", "predict", "--model", "data/model/model.npz", "digit.png"],
        ["-m", "scratchnet", "predict", "--model", MISSING, "digit.png"],
    ),
    "tool bench.step_profile": (
        ["-m", "tools.bench.step_profile", "--batch", "8", "--steps", "2", "--top", "1", "--out", "profile.json"],
        ["-m", "tools.bench.step_profile", "--top", "0"],
    ),
    "tool bench.speed": (None, ["-m", "tools.bench.speed", "--rounds", "0"]),
    "tool bench.compare": (None, ["-m", "tools.bench.compare", "--epochs", "-3", "--out", "report.json"]),
    "tool estimators": (None, ["-m", "tools.estimators", "--epochs", "0", "--out", "report.json"]),
    "tool photos": (None, ["-m", "tools.photos", "--model", "m.npz", "--idx-dir", ".", "--n", "0"]),
    "tool plots_page": (None, ["-m", "tools.plots_page"]),
    "tool experiments": (None, ["-m", "tools.experiments"]),
    "tool sweep.run": (None, ["-m", "tools.sweep.run", "-S", "train.lr=0.1"]),
}
# Quick in `make test`: the stage the fault was found in, on standard error; the rest (about 7 minutes)
# with `make test-slow`.
QUICK = {"stage train"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("finished")
    make_finished_workspace(root)
    X = np.load(root / "data" / "split" / "test.npz")["X"]
    Image.fromarray(X[0].reshape(28, 28)).save(root / "digit.png")
    return root


def run(workspace, stream, argv):
    command = f"{STREAMS[stream]}; exec {shlex.quote(sys.executable)} {shlex.join(argv)}"
    env = {**subprocess_env(workspace / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)}
    open_stream = {"stdout": "stderr", "stderr": "stdout"}[stream[0]]
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE if open_stream == "stdout" else subprocess.DEVNULL,
        stderr=subprocess.PIPE if open_stream == "stderr" else subprocess.DEVNULL,
        text=True,
        timeout=600,
    )
    said = done.stdout if open_stream == "stdout" else done.stderr
    return done.returncode, said


CELLS = [
    pytest.param(entry, stream, works, id=f"{entry}, {stream[0]} {stream[1]}, {'works' if works else 'fails'}")
    for entry in ENTRY_POINTS
    for stream in STREAMS
    for works in (True, False)
    if ENTRY_POINTS[entry][0 if works else 1] is not None
]


def marked(cells):
    """The cells of QUICK's entry points on standard error in `make test`, every other with the slow ones."""
    quick = lambda c: c.values[0] in QUICK and c.values[1][0] == "stderr"
    return [c if quick(c) else pytest.param(*c.values, id=c.id, marks=pytest.mark.slow) for c in cells]


@pytest.mark.parametrize("entry, stream, works", marked(CELLS))
def test_a_closed_or_full_stream(finished, tmp_path, entry, stream, works):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    argv = ENTRY_POINTS[entry][0 if works else 1]
    code, said = run(workspace, stream, argv)
    errors = [line for line in said.splitlines() if line.startswith("error:")]
    assert "Traceback" not in said, said
    if works and stream[0] == "stderr":  # progress only: the work goes on, and its product is there
        assert code == 0 and errors == [], said
        assert said.strip(), "nothing on standard output"
    elif works:  # the product could not be written: one line about standard output
        assert code == 1 and len(errors) == 1 and errors[0].startswith("error: standard output: "), said
    else:  # the work's own failure, on whichever stream is open
        assert code == 1 and len(errors) == 1, said
        assert not errors[0].startswith("error: standard output"), said
