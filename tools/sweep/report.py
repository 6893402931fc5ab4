"""reports/sweeps/NAME.md: one sweep's table, written once, when every run has ended.

The table is `make exps`' compact table over this sweep's experiments (read back with
``dvc.api.exp_show``), plus a row for each grid point that has no experiment (its state
and parameters), and below it the end of each such run's log. The file is written
atomically and only for a sweep that ended, so no report is ever empty or partial.
"""

from scratchnet.base.atomic import write_text

from ..exp_table import LEGEND, markdown, rows, table

LOG_LINES = 25


def _like(reference, value):
    """``value`` typed as exp_show types its column (it reads whole-number params back as floats)."""
    if isinstance(reference, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _rows(points, results):
    """exp_show rows of the succeeded runs (state filled in) and made-up rows for the others."""
    by_name = {r["name"]: r for r in results}
    show = rows()
    found = {r.get("Experiment"): r for r in show if r.get("Experiment") in by_name}
    like = next((r for r in show if r.get("rev") == "workspace"), {})
    out = []
    for point in points:
        state = by_name[point.name]["state"]
        if point.name in found and state == "Success":
            out.append({**found[point.name], "State": state})
        else:
            values = {k: _like(like.get(k), v) for k, v in point.values.items()}
            out.append({"Experiment": point.name, "State": state, **values})
    return out


def text(name, sha, settings, where, points, results, seconds):
    header, body = table(_rows(points, results))
    lines = [
        f"# Sweep {name}",
        "",
        f"Commit {sha[:7]}, `-S {' -S '.join(settings)}`: {len(points)} runs on {where}, {seconds:.0f} s in all.",
        "",
        markdown(header, body).rstrip("\n"),
        "",
        LEGEND,
    ]
    failed = [r for r in results if r["state"] != "Success"]
    for r in failed:
        lines += ["", f"## {r['name']}: {r['state']}", "", r["message"] or "(no message)"]
        log = r["log"].rstrip("\n").splitlines()[-LOG_LINES:]
        if log:
            lines += ["", "~~~~", *log, "~~~~"]
    return "\n".join(lines) + "\n", markdown(header, body)


def write(path, report):
    write_text(path, report)
