"""The pipeline part of `make bench`: the default pipeline on full MNIST, stage by stage.

Copies the project's tracked files into a temporary git repository, points
data.source at IDX files (the same 70,000 digits as OpenML's mnist_784), and
runs `dvc repro STAGE` for each stage in order, timing each one. The train
stage reports its own peak resident memory.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

STAGES = ("fetch", "split", "train", "evaluate")


def _copy_project(root, dest):
    files = subprocess.run(["git", "ls-files"], cwd=root, check=True, capture_output=True, text=True).stdout
    for name in files.splitlines():
        if os.path.isfile(os.path.join(root, name)):
            os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(root, name), os.path.join(dest, name))


def run_pipeline(mnist_dir, root="."):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
    with tempfile.TemporaryDirectory(prefix="scratchnet-bench-") as repo:
        _copy_project(root, repo)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
        with open(os.path.join(repo, "params.yaml")) as f:
            text = f.read()
        text = text.replace("source: openml", "source: idx")
        text = re.sub(r'idx_dir: ""', f"idx_dir: {os.path.abspath(mnist_dir)}", text)
        with open(os.path.join(repo, "params.yaml"), "w") as f:
            f.write(text)
        seconds, peak_mb = {}, None
        for stage in STAGES:
            print(f"bench: pipeline stage {stage} ...", flush=True)
            start = time.perf_counter()
            done = subprocess.run(["dvc", "repro", stage], cwd=repo, env=env, capture_output=True, text=True)
            seconds[stage] = time.perf_counter() - start
            if done.returncode:
                raise RuntimeError(f"dvc repro {stage} failed:\n{done.stdout}\n{done.stderr}")
            found = re.search(r"peak memory (\d+) MB", done.stdout + done.stderr)
            peak_mb = int(found.group(1)) if found and stage == "train" else peak_mb
        with open(os.path.join(repo, "reports", "history.tsv")) as f:
            history = list(csv.DictReader(f, delimiter="\t"))
    epoch_seconds = sorted(float(r["seconds"]) for r in history)
    return {"stage_seconds": seconds, "total_seconds": sum(seconds.values()), "epochs": len(history),
            "median_epoch_seconds": epoch_seconds[len(epoch_seconds) // 2], "train_peak_rss_mb": peak_mb}


def table_lines(p):
    lines = [f"{'full pipeline on full MNIST, wall time (s)':<44}{p['total_seconds']:>14.0f}"]
    lines += [f"{'  stage ' + stage + ' (s)':<44}{p['stage_seconds'][stage]:>14.1f}" for stage in STAGES]
    lines += [f"{'  epochs run':<44}{p['epochs']:>14d}",
              f"{'  median epoch incl. evaluation (s)':<44}{p['median_epoch_seconds']:>14.2f}",
              f"{'train stage peak RSS (MB)':<44}{p['train_peak_rss_mb']:>14d}  <= 600"]
    return lines
