"""The compact table of this commit's DVC experiments (params that differ, accuracy, loss, gaps, best
epoch), from `dvc.api.exp_show()` rows: what `make exps` prints and `make sweep` writes for its runs."""

import math

from scratchnet import params
from scratchnet.base.errors import ScratchnetError

METRICS = (
    ("val acc", "val.accuracy", "percent"),
    ("test acc", "test.accuracy", "percent"),
    ("val loss", "val.loss", "number"),
    ("test loss", "test.loss", "number"),
    ("acc gap", "accuracy_gap", "points"),
    ("loss gap", "loss_gap", "percent"),
    ("best epoch", "best_epoch", "int"),
    ("epochs", "epochs", "int"),
)
LIVE = "reports/live/metrics.json"


def rows(revs=None):
    """`dvc.api.exp_show()` rows (flat dicts) of this commit's experiments and its baseline."""
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        return dvc.api.exp_show(revs=revs)
    except (DvcException, SCMError) as e:
        raise ScratchnetError(
            f"cannot list experiments here ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}): "
            "run it inside a clone of scratchnet that has a commit (`git log` shows one)"
        ) from None


def cell(row, key, path="reports/metrics.json"):
    """A column's value; DVC prefixes "path:" only where two files share a name. None if absent."""
    value = row.get(key, row.get(f"{path}:{key}"))
    return None if value in ("!", "-") else value


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


def table(show):
    """(header, rows of cells) for the experiment rows of ``show``, best validation accuracy first."""
    found = [r for r in show if r.get("Experiment") or r.get("rev") == "workspace"]
    integers = params.integer_keys()
    differ = [k for k in params.dotted_keys() if len({param_cell(r, k, integers) for r in found}) > 1]
    header = ["experiment", "state", *differ, *(name for name, _, _ in METRICS)]
    body = []
    for r in sorted(found, key=lambda r: -(cell(r, "val.accuracy") or cell(r, "val.accuracy", LIVE) or 0)):
        state = r.get("State") or ""
        if state == "Running":
            state = f"running, epoch {_format(cell(r, 'epoch', LIVE), 'int')}"
        body.append(
            [
                r.get("Experiment") or r.get("rev"),
                state,
                *(param_cell(r, k, integers) for k in differ),
                *(_format(cell(r, key), kind) for _, key, kind in METRICS),
            ]
        )
    return header, body


def markdown(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in body]) + "\n"
