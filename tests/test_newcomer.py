"""README's quick start, as a newcomer follows it, in a fresh clone: the sample pipeline, the experiments
table, the offline plots page, predict on a drawn digit, and the `dvc metrics diff` walkthrough of
docs/experiments.md. It checks what README says a user sees, not exact floats (those are the machine's).
CI runs it after `make test` (`make test-newcomer`); it takes about ten minutes."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from pipeline_helpers import BIN, PROJECT_ROOT, subprocess_env

pytestmark = pytest.mark.newcomer


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the committed project, sharing this venv (its stamp kept newer than
    pyproject.toml and uv.lock, so make does not reinstall it into the clone)."""
    path = tmp_path_factory.mktemp("newcomer") / "scratchnet"
    env = subprocess_env(path.parent / "dvc-state")
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(path)], check=True, env=env)
    (path / ".venv").symlink_to(BIN.parent)
    stamp = BIN.parent / ".installed"
    if stamp.exists():
        past = stamp.stat().st_mtime - 60
        for name in ("pyproject.toml", "uv.lock"):
            os.utime(path / name, (past, past))
    return path, env


def run(clone, *command, check=True):
    path, env = clone
    start = time.monotonic()
    done = subprocess.run(command, cwd=path, env=env, capture_output=True, text=True, timeout=3600)
    done.seconds = time.monotonic() - start
    if check:
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_shared_venv_holds_what_the_committed_lock_names(clone):
    """make setup installed this venv from uv.lock; the clone's committed uv.lock is that lock, in
    step with its pyproject.toml, and the venv holds exactly its versions (besides PyTorch, pip, uv)."""
    done = run(
        clone,
        str(BIN / "uv"),
        "sync",
        "--locked",
        "--inexact",
        "--extra",
        "dev",
        "--no-install-project",
        "--check",
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_quick_start(clone, tmp_path):
    path, _ = clone
    # make sample: the whole pipeline offline, as a DVC experiment
    done = run(clone, "make", "sample")
    assert re.search(r"evaluate: val accuracy 0\.\d{4}, test accuracy 0\.\d{4}", done.stdout + done.stderr)
    assert (path / "reports/metrics.json").is_file() and (path / "data/model/model.npz").is_file()

    # make exps: the experiments as one table
    table = run(clone, "make", "exps").stdout
    assert "| experiment | state |" in table and re.search(r"\| \d+\.\d\d% \|", table), table

    # make plots: the offline page
    run(clone, "make", "plots")
    html = (path / "reports/plots/index.html").read_text(encoding="utf-8")
    assert "vegaEmbed" in html and "cdn.jsdelivr" not in html

    # predict on a drawn digit: one line, the file, a digit and its probability
    from PIL import Image, ImageDraw

    picture = Image.new("L", (200, 300), 255)
    ImageDraw.Draw(picture).line([(100, 40), (100, 260)], fill=0, width=18)  # a "1"
    picture.save(tmp_path / "one.png")
    done = run(
        clone,
        str(BIN / "python"),
        "-m",
        "scratchnet",
        "predict",
        "--model",
        "data/model/model.npz",
        str(tmp_path / "one.png"),
    )
    assert re.fullmatch(
        r".*one\.png: \d \(p=[01]\.\d{3}\)( +\d:[01]\.\d{3}){10}(  low confidence \(p < 0\.7\): .*)?\n", done.stdout
    ), done.stdout

    # docs/experiments.md's walkthrough: commit, change lambda, dvc repro reruns train and what follows it only
    run(clone, "git", "add", "-A")
    run(clone, "git", "commit", "-q", "-m", "lambda 0.001")
    params = path / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace("  lambda: 0.001", "  lambda: 0.0001"))
    done = run(clone, str(BIN / "dvc"), "repro")
    output = done.stdout + done.stderr
    assert "Stage 'fetch' didn't change, skipping" in output and "Running stage 'train'" in output
    diff = run(clone, str(BIN / "dvc"), "metrics", "diff", "--targets", "reports/metrics.json").stdout
    assert re.search(r"reports/metrics\.json\s+val\.loss\s+[\d.]+\s+[\d.]+", diff), diff
    assert Path(path / "dvc.lock").is_file()
