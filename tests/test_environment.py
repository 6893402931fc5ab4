"""The environment around the data, as a user's machine has it: a read-only dataset cache (through
scikit-learn's real fetch_openml), a very low open-file limit (a table over limits and entry
points, inside a git and DVC repository, where DVC's and DVCLive's SQLite state is opened). Every
refusal of the machine that a dependency meets on our behalf is one ``error:`` line, exit 1.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess

import numpy as np
import pytest
from openml_cache import write_openml_cache
from pipeline_helpers import run_python, subprocess_env
from tiny_workspace import STAGE_ARGS, make_finished_workspace, synthetic_digits

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return make_finished_workspace(tmp_path_factory.mktemp("finished"))


def run(workspace, argv, limits=None, unprivileged=False, **env):
    """``python ARGV`` in ``workspace``; as root with ``unprivileged``, without the capabilities that
    let root write where permissions say no (so that a read-only directory is read-only)."""
    prefix = [SETPRIV, "--bounding-set=-dac_override,-dac_read_search"] if ROOT and unprivileged else []
    return run_python(workspace, argv, limits, prefix, **env)


def one_error(done):
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


needs_read_only = pytest.mark.skipif(ROOT and not SETPRIV, reason="root writes anywhere, and setpriv is missing")


@needs_read_only
@pytest.mark.parametrize("cache", ["empty", "complete"])
def test_a_read_only_dataset_cache_is_named_with_where_else_to_keep_it(finished, tmp_path, cache):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    params = workspace / "params.yaml"
    params.write_text(params.read_text().replace("source: sample", "source: openml"))
    home = tmp_path / "sklearn-data"
    if cache == "complete":
        write_openml_cache(home, *synthetic_digits(2))
    else:
        home.mkdir()
    for directory in [home, *(p for p in home.rglob("*") if p.is_dir())]:
        directory.chmod(0o555)
    try:
        done = run(workspace, ["-m", "stages.fetch", *STAGE_ARGS["fetch"]], unprivileged=True, SCIKIT_LEARN_DATA=home)
    finally:
        for directory in [home, *(p for p in home.rglob("*") if p.is_dir())]:
            directory.chmod(0o755)
    if cache == "complete":  # read, never written
        assert done.returncode == 0, done.stderr
        return
    error = one_error(done)
    assert f"scikit-learn's dataset cache {home}" in error and "Permission denied" in error, error
    assert "SCIKIT_LEARN_DATA=DIR" in error and "could not be read" not in error, error


@pytest.fixture(scope="module")
def repository(finished, tmp_path_factory):
    """The finished workspace as a git repository with DVC initialised (DVC's state is opened there)."""
    root = tmp_path_factory.mktemp("repo") / "ws"
    shutil.copytree(finished, root)
    np.save(root / "digits.npy", np.load(root / "data" / "split" / "test.npz")["X"][:3].reshape(-1, 28, 28))
    env = subprocess_env(root / ".scratch")
    for command in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "start"],
    ):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    return root


ENTRY_POINTS = {
    "split": ["-m", "stages.split", *STAGE_ARGS["split"]],
    "train": ["-m", "stages.train", *STAGE_ARGS["train"]],
    "evaluate": ["-m", "stages.evaluate", *STAGE_ARGS["evaluate"]],
    "predict": ["-m", "scratchnet", "predict", "--model", "data/model/model.npz", "digits.npy"],
    "experiments": ["-m", "tools.experiments"],
}
LIMITS = [6, 8, 10, 12, 16, 24]
CELLS = [
    pytest.param(
        entry, limit, marks=() if (entry, limit) == ("train", 10) else pytest.mark.slow, id=f"{entry}, {limit}"
    )
    for entry in ENTRY_POINTS
    for limit in LIMITS
]


@pytest.mark.parametrize("entry, limit", CELLS)
def test_a_low_open_file_limit_is_one_error_line_or_nothing(repository, tmp_path, entry, limit):
    """Found: train at 10 files ended in DVC's sqlite3.OperationalError traceback (DVCLive opens the
    repository's state). Any limit: exit 0, or 1 with one error line, never a traceback."""
    workspace = tmp_path / "ws"
    shutil.copytree(repository, workspace, symlinks=True)
    done = run(workspace, ENTRY_POINTS[entry], limits={resource.RLIMIT_NOFILE: limit})
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        error = one_error(done)
        assert "open" in error or "no results" in error, error
