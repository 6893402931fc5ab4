"""The pipeline part of `make bench`: the train stage's own epochs and peak memory, and the default
pipeline on full MNIST.

``train_stage_run`` runs the real train stage (`python -m stages.train`) for three epochs on
synthetic digits of full MNIST's size, in a temporary directory, and reads its per-epoch record
and peak resident memory. ``run_pipeline`` copies the project's files (those
git tracks or would track) into a temporary git repository, points data.source at IDX files
(the same 70,000 digits as OpenML's mnist_784), and runs `dvc repro STAGE` for
each stage in order, timing each one.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from scratchnet.report.history import read_history

STAGES = ("fetch", "split", "train", "evaluate")
PEAK = re.compile(r"peak memory (\d+) MB")


# The train stage as the bench's "scratchnet sgd@1" contender trains: the default network and SGD.
STAGE_SETTINGS = {
    "model": {"hidden_sizes": [512, 256, 128], "init_seed": 0, "dropout": 0.0, "input_dropout": 0.0},
    "train": {
        "epochs": 3,
        "patience": 3,
        "batch_size": 64,
        "lr": 0.001,
        "lambda": 0.001,
        "max_norm": 0.0,
        "optimizer": "sgd",
        "schedule": "none",
        "threads": 1,
        "affine_shift": 0,
        "affine_rotation": 0.0,
        "affine_scale": 0.0,
        "affine_shear": 0.0,
        "elastic_alpha": 0.0,
    },
}


def train_stage_run(root=".", rows=(56_000, 7_000), params_path=None):
    """The real train stage (`python -m stages.train`, Linux) for 3 epochs on random digits of full size:
    {"epoch_seconds": the median of its own per-epoch record after the first, "peak_rss_mb": its peak}.
    The other params come from ``params_path`` (the repository's params.yaml by default)."""
    import numpy as np
    from ruamel.yaml import YAML

    root = os.path.abspath(root)
    with tempfile.TemporaryDirectory(prefix="scratchnet-bench-stage-") as work:
        rng = np.random.default_rng(0)
        os.makedirs(os.path.join(work, "split"))
        for name, n in zip(("train", "val"), rows):
            np.savez(
                os.path.join(work, "split", f"{name}.npz"),
                X=rng.integers(0, 256, (n, 784), dtype=np.uint8),
                y=rng.integers(0, 10, n, dtype=np.uint8),
            )
        yaml = YAML()
        with open(params_path or os.path.join(root, "params.yaml"), encoding="utf-8") as f:
            params = yaml.load(f)
        for section, values in STAGE_SETTINGS.items():
            params[section].update(values)
        with open(os.path.join(work, "params.yaml"), "w", encoding="utf-8") as f:
            yaml.dump(params, f)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # The stage reports its own peak (VmHWM, not ru_maxrss, which carries the parent's memory).
        done = subprocess.run(
            [sys.executable, "-m", "stages.train", "split", "model.npz", "live"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        found = PEAK.search(done.stdout)
        if done.returncode or not found:
            raise RuntimeError(f"the train stage failed:\n{done.stdout}\n{done.stderr}")
        seconds = [r["seconds"] for r in read_epochs(os.path.join(work, "live"))]
    return {"epoch_seconds": sorted(seconds[1:])[len(seconds[1:]) // 2], "peak_rss_mb": int(found.group(1))}


def read_epochs(directory):
    """The per-epoch record in ``directory``, as evaluate reads it (for the run it names)."""
    with open(os.path.join(directory, "run.json"), encoding="utf-8") as f:
        run = json.load(f)["run"]
    return read_history(directory, run)


def _copy_project(root, dest):
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in files.splitlines():
        if os.path.isfile(os.path.join(root, name)):
            os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(root, name), os.path.join(dest, name))


def run_pipeline(mnist_dir, root="."):
    env = dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@localhost",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@localhost",
    )
    with tempfile.TemporaryDirectory(prefix="scratchnet-bench-") as repo:
        _copy_project(root, repo)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
        with open(os.path.join(repo, "params.yaml")) as f:
            text = f.read()
        text = text.replace("source: openml", "source: idx")
        text = re.sub(r'idx_dir: ""', f"idx_dir: {os.path.abspath(mnist_dir)}", text)
        with open(os.path.join(repo, "params.yaml"), "w") as f:
            f.write(text)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "-m", "bench"], cwd=repo, check=True, env=env)
        seconds, peak_mb = {}, None
        for stage in STAGES:
            print(f"bench: pipeline stage {stage} ...", flush=True)
            start = time.perf_counter()
            done = subprocess.run(["dvc", "repro", stage], cwd=repo, env=env, capture_output=True, text=True)
            seconds[stage] = time.perf_counter() - start
            if done.returncode:
                raise RuntimeError(f"dvc repro {stage} failed:\n{done.stdout}\n{done.stderr}")
            found = PEAK.search(done.stdout + done.stderr)
            peak_mb = int(found.group(1)) if found and stage == "train" else peak_mb
        history = read_epochs(os.path.join(repo, "reports", "live"))
        with open(os.path.join(repo, "reports", "metrics.json"), encoding="utf-8") as f:
            metrics = json.load(f)
    epoch_seconds = sorted(float(r["seconds"]) for r in history)
    return {
        "stage_seconds": seconds,
        "total_seconds": sum(seconds.values()),
        "epochs": len(history),
        "median_epoch_seconds": epoch_seconds[len(epoch_seconds) // 2],
        "train_peak_rss_mb": peak_mb,
        "metrics": metrics,
    }


def table_lines(p):
    lines = [f"{'full pipeline on full MNIST, wall time (s)':<44}{p['total_seconds']:>14.0f}"]
    lines += [f"{'  stage ' + stage + ' (s)':<44}{p['stage_seconds'][stage]:>14.1f}" for stage in STAGES]
    lines += [
        f"{'  epochs run':<44}{p['epochs']:>14d}",
        f"{'  median epoch incl. evaluation (s)':<44}{p['median_epoch_seconds']:>14.2f}",
        f"{'  train stage peak RSS, its own (MB)':<44}{p['train_peak_rss_mb']:>14d}",
        f"{'  best epoch':<44}{p['metrics']['best_epoch']:>14d}",
        f"{'  validation accuracy':<44}{p['metrics']['model']['val']['accuracy']:>14.4f}",
        f"{'  test accuracy':<44}{p['metrics']['model']['test']['accuracy']:>14.4f}",
    ]
    return lines
