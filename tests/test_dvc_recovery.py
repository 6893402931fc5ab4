"""DVC around the stages, end to end with the real dvc: a model whose copy in DVC's cache is damaged
in place (its size and times kept, as a bad disk leaves it), checked out by `dvc checkout`. predict
says so and prints a command; that command, run as printed, brings a good model back for good
(`dvc checkout` afterwards restores a good copy), where `dvc repro -f train` does not.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from pipeline_helpers import make_project_repo, sha256_file, subprocess_env

pytestmark = pytest.mark.slow
MODEL = "data/model/model.npz"


def damage_in_place(path):
    """Flip two bytes of ``path`` keeping its size, mode and times (DVC's state then trusts it)."""
    info = os.stat(path)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        for offset in (info.st_size // 3, info.st_size // 2):
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))
    os.chmod(path, info.st_mode)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def predict(repo, digits):
    return repo.run("python", "-m", "scratchnet", "predict", "--model", MODEL, digits, check=False)


def test_a_damaged_cached_model_comes_back_good_with_the_printed_command(tmp_path):
    import numpy as np

    repo = make_project_repo(tmp_path / "repo", subprocess_env(tmp_path / "dvc-state"))
    repo.dvc("repro")
    repo.commit("the pipeline's outputs")
    good = sha256_file(repo.file(MODEL))
    digits = tmp_path / "digits.npy"
    np.save(digits, np.load(repo.file("data/split/test.npz"))["X"][:2].reshape(-1, 28, 28))
    cache = repo.dvc("cache", "dir").stdout.strip()
    [md5] = {
        m
        for m in re.findall(
            r"path: data/model/model.npz\n\s+hash: md5\n\s+md5: (\w{32})\n", repo.file("dvc.lock").read_text()
        )
    }
    damage_in_place(os.path.join(repo.path, cache, "files", "md5", md5[:2], md5[2:]))
    repo.file(MODEL).unlink()
    repo.dvc("checkout")  # DVC trusts the object by its name: the damaged copy is checked out

    done = predict(repo, digits)
    assert done.returncode == 1, done.stdout + done.stderr
    [command] = re.findall(r"rerun: `([^`]+)`", done.stderr)
    assert md5[2:] in command and "dvc repro" in command, done.stderr

    # What DVC offers puts the damaged copy back: reproducing the stage finds the object "in the cache".
    repo.dvc("repro", "-f", "train")
    assert predict(repo, digits).returncode == 1

    # The printed command (as a user pastes it into a shell) restores a good model, and a good cache.
    done = subprocess.run(["bash", "-c", command], cwd=repo.path, env=repo.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert predict(repo, digits).returncode == 0
    assert sha256_file(repo.file(MODEL)) == good  # the same run, bit-identical on this machine
    repo.file(MODEL).unlink()
    repo.dvc("checkout")
    assert predict(repo, digits).returncode == 0


def test_a_second_exp_run_while_one_trains_leaves_the_first_its_params(tmp_path):
    """`dvc exp run -S train.lr=...` while another `dvc exp run` trains in the workspace: DVC rewrites
    params.yaml, then its lock refuses the second run. The first finishes with the params it read,
    and records them; the second's params.yaml waits as params.yaml.changed."""
    import time

    repo = make_project_repo(tmp_path / "repo", subprocess_env(tmp_path / "dvc-state"))
    repo.set_params({"train.epochs": 100, "train.patience": 100})
    repo.commit("a longer run")
    read = repo.file("params.yaml").read_text()
    first = subprocess.Popen(
        ["dvc", "exp", "run", "-n", "first"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    record = repo.file("reports/live/plots/metrics/train/loss.tsv")
    deadline = time.monotonic() + 300
    while not (record.exists() and len(record.read_text().splitlines()) >= 3):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0]
        time.sleep(0.5)
    second = repo.dvc("exp", "run", "-S", "train.lr=0.01", check=False)
    assert second.returncode != 0, second.stdout + second.stderr
    output = first.communicate(timeout=900)[0]
    # The stages kept the first run's params: train finished with them, and dvc.lock records them.
    assert "note: params.yaml changed while this stage ran (section train)" in output, output
    assert repo.file("params.yaml").read_text() == read
    assert "lr: 0.01" not in repo.file("dvc.lock").read_text()
    assert "lr: 0.01" in repo.file("params.yaml.changed").read_text()
    if first.returncode != 0:  # DVC's own last step can fail after the refused run: save the workspace
        assert "Failed to reproduce experiment" in output, output
        repo.dvc("exp", "save", "-n", "first")
    shown = repo.dvc("exp", "show", "--csv").stdout
    assert "first" in shown, shown
