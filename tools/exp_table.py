"""The compact table of DVC experiments (params that differ, the kept model's accuracy and loss, gaps,
best epoch, epochs) from `dvc.api.exp_show()` rows, with the line defining its columns: what
`make exps` prints and `make sweep` writes for its runs. A running experiment's row shows its
latest epoch's figures, read from its live record (reports/live/metrics.json) where DVC's executor
info says the run is, marked as such."""

import glob
import json
import math
import os

from scratchnet import params
from scratchnet.base.errors import ScratchnetError

# (column, key of reports/metrics.json, format, key of a running run's live record or None)
METRICS = (
    ("val acc", "model.val.accuracy", "percent", "val.accuracy"),
    ("test acc", "model.test.accuracy", "percent", None),
    ("val loss", "model.val.loss", "number", "val.loss"),
    ("test loss", "model.test.loss", "number", None),
    ("acc gap", "model.accuracy_gap", "points", "accuracy_gap"),
    ("loss gap", "model.loss_gap", "percent", "loss_gap"),
    ("best epoch", "best_epoch", "int", None),
    ("epochs", "epochs", "int", "epoch"),
)
LEGEND = (
    "val/test acc, val/test loss: the kept model's accuracy and mean cross-entropy on the validation and "
    "test rows (reports/metrics.json model.*); acc gap: train minus val accuracy, in percentage points; "
    "loss gap: (val loss - train loss) / train loss, the original notebook's loss gap; best epoch: the "
    "epoch of the lowest validation loss; epochs: epochs run. A running row shows its latest epoch "
    "(reports/live/metrics.json latest_epoch.*), no test figures yet. docs/pipeline.md has more."
)
LIVE = "reports/live/metrics.json"
RUNNING = 2  # DVC's TaskStatus.RUNNING in an executor's info file


def rows(revs=None, commits=1):
    """`dvc.api.exp_show()` rows (flat dicts) of the experiments of the last ``commits`` commits and their baselines."""
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        return dvc.api.exp_show(revs=revs, num=commits)
    except (DvcException, SCMError) as e:
        raise ScratchnetError(
            f"cannot list experiments here ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}): "
            "run it inside a clone of scratchnet that has a commit (`git log` shows one)"
        ) from None


def cell(row, key, path="reports/metrics.json"):
    """A column's value; DVC prefixes "path:" only where two files share a name. None if absent."""
    value = row.get(key, row.get(f"{path}:{key}"))
    return None if value in ("!", "-") else value


def running_records(root="."):
    """{experiment name: its live record, flat} of the runs under way, from DVC's executor info files
    (REV.run under .dvc/tmp/exps: name, root_dir, status), the workspace's run and queued ones alike.
    The live record is not a declared DVC metric (dvc metrics diff and dvc exp show compare the kept
    model's figures only), so it is read here from where the run writes it."""
    found = {}
    # .dvc/tmp/exps/run/ (the workspace's and queued runs), .dvc/tmp/exps/standalone/*/run/ (--temp)
    for info_file in glob.glob(os.path.join(root, ".dvc", "tmp", "exps", "**", "*.run"), recursive=True):
        try:
            with open(info_file, encoding="utf-8") as f:
                info = json.load(f)
            if info.get("status") != RUNNING or not info.get("name"):
                continue
            with open(os.path.join(info["root_dir"], info.get("wdir") or "", LIVE), encoding="utf-8") as f:
                latest = json.load(f)["latest_epoch"]
        except (OSError, ValueError, KeyError, TypeError):  # not started, mid-write, or just finished
            continue
        flat = {f"{split}.{k}": v for split in ("train", "val") for k, v in (latest.get(split) or {}).items()}
        flat["epoch"] = latest.get("epoch")
        train, val = latest.get("train") or {}, latest.get("val") or {}
        if {"accuracy", "loss"} <= train.keys() & val.keys():
            flat["accuracy_gap"] = train["accuracy"] - val["accuracy"]
            flat["loss_gap"] = (val["loss"] - train["loss"]) / train["loss"] if train["loss"] > 0 else None
        found[info["name"]] = flat
    return found


def _format(value, kind):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "" if value is None else str(value)
    return {
        "percent": f"{100 * value:.2f}%",
        "points": f"{100 * value:.2f} pp",
        "int": f"{value:.0f}",
        "number": f"{value:.4f}",
    }[kind]


def param_cell(row, key, integers):
    """A parameter as params.yaml spells it: dvc.api.exp_show hands whole numbers back as floats
    (2000.0), which keys declared as integers show as integers again."""
    value = cell(row, key, "params.yaml")
    if key in integers and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table(show, running=None):
    """(header, rows of cells) for the experiment rows of ``show``, best validation accuracy first.
    ``running`` maps a running experiment's name to its live record (``running_records``): its row
    shows that record's latest epoch, never the figures of the run before it."""
    running = running or {}
    found = [
        r
        for r in show
        if r.get("Experiment") or r.get("rev") == "workspace" or cell(r, "model.val.accuracy") is not None
    ]  # experiments, the workspace, and commits that hold results (the commit way)
    integers = params.integer_keys()
    differ = [k for k in params.dotted_keys() if len({param_cell(r, k, integers) for r in found}) > 1]
    header = ["experiment", "state", *differ, *(name for name, _, _, _ in METRICS)]
    rows = []
    for r in found:
        name, state = r.get("Experiment") or r.get("rev"), r.get("State") or ""
        if state == "Running":
            live = running.get(name, {})
            epoch = _format(live.get("epoch"), "int")
            state = f"running: epoch {epoch}'s figures" if epoch else "running: no epoch yet"
            figures = [_format(live.get(key) if key else None, kind) for _, _, kind, key in METRICS]
            order = live.get("val.accuracy") or 0
        else:
            figures = [_format(cell(r, key), kind) for _, key, kind, _ in METRICS]
            order = cell(r, "model.val.accuracy") or 0
        rows.append((order, [name, state, *(param_cell(r, k, integers) for k in differ), *figures]))
    return header, [row for _, row in sorted(rows, key=lambda pair: -pair[0])]


def markdown(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in body]) + "\n"
