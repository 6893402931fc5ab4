"""README's loop, as a newcomer follows it, in a fresh clone: every command of README's quick start
and "Change λ, rerun, compare" blocks, read from README itself and run in order (`make test` aside:
it is this suite), offline on the sample. It checks what a person checks, not exact floats (those
are the machine's): each command runs where the one before left the workspace, the comparison shows
both λ values with a figure for each, and no key means two things in two metrics files.
CI runs it after `make test` (`make test-newcomer`); it takes ten to twenty minutes."""

import json
import os
import re
import shlex
import subprocess
import time

import pytest
from pipeline_helpers import BIN, PROJECT_ROOT, subprocess_env

pytestmark = pytest.mark.newcomer

FIRST, LAST = "## Quick start", "## What a run gives"  # the part of README a newcomer walks
NOT_WALKED = ("make test", "make demo")  # the test suite itself; a server that runs until Ctrl-C


def readme_commands():
    """The shell lines of README's bash blocks between FIRST and LAST, comments dropped, in order."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index(FIRST) : text.index(LAST)]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", part, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            command = shlex.join(words) if words else ""
            if command and command not in NOT_WALKED:
                commands.append(line.split("  #")[0].strip())
    return commands


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the committed project, sharing this venv (its stamp kept newer than
    pyproject.toml and uv.lock, so make does not reinstall it into the clone)."""
    path = tmp_path_factory.mktemp("newcomer") / "scratchnet"
    env = subprocess_env(path.parent / "dvc-state")
    # A plain shell: the venv is not on PATH until README says to activate it.
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != str(BIN))
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(path)], check=True, env=env)
    (path / ".venv").symlink_to(BIN.parent)
    stamp = BIN.parent / ".installed"
    if stamp.exists():
        past = stamp.stat().st_mtime - 60
        for name in ("pyproject.toml", "uv.lock"):
            os.utime(path / name, (past, past))
    return path, env


def flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def check(command, output, path):
    """What a person looks for in each command's output."""
    if command == "make sample":
        assert "experiment sample:" in output and "No file hash info found" not in output, output
        assert re.search(r"evaluate: val accuracy 0\.\d{4}, test accuracy 0\.\d{4}", output), output
    elif command.startswith("make sample SET="):
        assert "Stage 'fetch' didn't change, skipping" in output and "Running stage 'train'" in output, output
    elif command == "make exps" and "sample-lambda-0.0001" in output:
        # both λ settings side by side, each with its figures, every column defined under the table
        cells = [
            [c.strip() for c in line.strip("|").split("|")] for line in output.splitlines() if line.startswith("|")
        ]
        header, body = cells[0], cells[2:]
        by_name = {row[0]: dict(zip(header, row)) for row in body}
        lambdas = {by_name[name]["train.lambda"] for name in ("sample", "sample-lambda-0.0001")}
        assert lambdas == {"0.001", "0.0001"}, output
        for name in ("sample", "sample-lambda-0.0001"):
            for column in ("val acc", "test acc", "val loss", "test loss", "epochs"):
                assert re.fullmatch(r"[\d.]+%?", by_name[name][column]), (name, column, output)
        assert "loss gap: (val loss - train loss) / train loss" in " ".join(output.split()), output
    elif command == "make exps":
        assert "| experiment | state |" in output and re.search(r"\| sample \|.*\| \d+\.\d\d% \|", output), output
    elif command == "make plots":
        html = (path / "reports/plots/index.html").read_text(encoding="utf-8")
        assert "vegaEmbed" in html and "cdn.jsdelivr" not in html
    elif command.startswith("cat reports/metrics.json"):
        assert 0 < json.loads(output)["model"]["val"]["accuracy"] <= 1, output
    elif command.startswith("python -m scratchnet predict"):
        assert re.fullmatch(r".*photo\.jpg: \d \(p=[01]\.\d{3}\)( +\d:[01]\.\d{3}){10}( .*)?\n", output), output
    elif command.startswith("dvc exp diff"):
        assert re.search(r"train\.lambda\s+0\.001\s+0\.0001", output) and "model.val.accuracy" in output, output
    elif command == "dvc repro":
        assert "Stage 'split' didn't change, skipping" in output and "Running stage 'evaluate'" in output, output
    elif command == "dvc metrics diff":
        # the kept model's figures, and only the declared metrics file's
        assert re.search(r"reports/metrics\.json\s+model\.\S+\s+[\d.e-]+\s+[\d.e-]+", output), output
        assert "reports/live" not in output and "latest_epoch" not in output, output


def test_readme_loop(clone):
    path, env = clone
    commands = readme_commands()
    assert "make sample" in commands and "make exps" in commands and "dvc metrics diff" in commands, commands
    activated = ""
    for command in commands:
        if command.startswith(". .venv/bin/activate"):
            activated = command + " && "
            continue
        start = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", activated + command],
            cwd=path,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        output = done.stdout + done.stderr
        # each next command runs where the one before left the workspace
        assert done.returncode == 0, f"$ {command} ({time.monotonic() - start:.0f} s):\n{output[-4000:]}"
        assert "Traceback" not in output, output
        check(command, done.stdout if command.startswith(("cat ", "python ")) else output, path)

    # One name, one quantity: no key of the live record is a key of the kept model's metrics.
    kept = flat(json.loads((path / "reports/metrics.json").read_text(encoding="utf-8")))
    live = flat(json.loads((path / "reports/live/metrics.json").read_text(encoding="utf-8")))
    assert not set(kept) & set(live), set(kept) & set(live)
    assert all(key.startswith("model.") or key in ("best_epoch", "epochs") for key in kept), kept
    assert all(key.startswith("latest_epoch.") or key == "step" for key in live), live
    # and DVC's experiments table reads the kept model's file alone
    show = subprocess.run(
        [str(BIN / "dvc"), "exp", "show", "--json"], cwd=path, env=env, capture_output=True, text=True, check=True
    )
    revs = [baseline.get("data") or {} for baseline in json.loads(show.stdout)]
    for baseline in json.loads(show.stdout):
        revs += [
            rev.get("data") or {} for experiment in baseline.get("experiments") or [] for rev in experiment["revs"]
        ]
    files = {name for data in revs for name in data.get("metrics") or {}}
    assert files == {"reports/metrics.json"}, files


def test_the_shared_venv_holds_what_the_committed_lock_names(clone):
    """make setup installed this venv from uv.lock; the clone's committed uv.lock is that lock, in
    step with its pyproject.toml, and the venv holds exactly its versions (besides PyTorch, pip, uv)."""
    path, env = clone
    command = [str(BIN / "uv"), "sync", "--locked", "--inexact", "--extra", "dev", "--no-install-project", "--check"]
    done = subprocess.run(command, cwd=path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
