"""`make docs`: every table and figure of README and docs/ rebuilt from the runs recorded in docs/runs/.

    python -m tools.docs.build record RUN_DIR NAME   # keep a finished run's outputs as docs/runs/NAME
    python -m tools.docs.build                      # rebuild the tables and figures from docs/runs

A run directory holds what the pipeline wrote (reports/metrics.json, the per-epoch record
in live/, params.yaml, the figures) and run.json (its wall time and CPU); other records
(the benchmark, the photo benchmark, the estimators, the walkthrough) are the JSON or text
their tools wrote. A table stands in a page between ``<!-- make docs: NAME -->`` and
``<!-- end -->``; ``build`` replaces each, so the pages cannot drift from the records
(tests/test_docs.py checks that they do not).
"""

import argparse
import os
import re
import shutil

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import ScratchnetError

from . import figures as docs_figures
from . import tables as docs_tables

RUNS, IMAGES = os.path.join("docs", "runs"), os.path.join("docs", "img")
PAGES = ["README.md", *(os.path.join("docs", name) for name in sorted(os.listdir("docs")) if name.endswith(".md"))]
MARKER = re.compile(r"(<!-- make docs: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)
# What a recorded run keeps: the small outputs (the figures only where a page shows them).
KEPT = ("metrics.json", "params.yaml", "run.json", "live/metrics.json", "live/run.json")


def record(source, name):
    """Copy the outputs of a finished run in ``source`` into docs/runs/``name``, replacing a previous record."""
    if not os.path.isfile(os.path.join(source, "metrics.json")):
        raise ScratchnetError(f"{source}: not a finished run (no metrics.json)")
    with atomic.outputs() as out:
        target = out.directory(os.path.join(RUNS, name))
        for relative in KEPT:
            if os.path.isfile(os.path.join(source, relative)):
                os.makedirs(os.path.dirname(os.path.join(target, relative)), exist_ok=True)
                shutil.copy2(os.path.join(source, relative), os.path.join(target, relative))
        shutil.copytree(os.path.join(source, "live", "plots"), os.path.join(target, "live", "plots"))
        if name in docs_figures.WITH_FIGURES and os.path.isdir(os.path.join(source, "figures")):
            shutil.copytree(os.path.join(source, "figures"), os.path.join(target, "figures"))
    print(f"docs: recorded {source} as {os.path.join(RUNS, name)}")


def rendered(text, tables):
    """``text`` with every marked table replaced by its current content; KeyError names an unknown one."""

    def fill(match):
        table = tables[match["name"]]
        try:
            body = table()
        except FileNotFoundError as e:  # a run not recorded (yet): the page says which record is missing
            body = f"*No record for this table: {os.path.relpath(e.filename)} is missing.*"
        return f"{match[1]}{body.rstrip()}\n{match[4]}"

    return MARKER.sub(fill, text)


def build():
    tables = docs_tables.Tables(RUNS)
    with atomic.outputs() as out:
        for page in PAGES:
            with open(page, encoding="utf-8") as f:
                text = f.read()
            try:
                new = rendered(text, tables.by_name())
            except KeyError as e:
                raise ScratchnetError(f"{page}: no table {e} (make docs knows {', '.join(tables.by_name())})") from None
            if new != text:
                out.write_text(page, new)
        docs_figures.draw(RUNS, out, IMAGES)
    print(f"docs: {len(PAGES)} pages and the figures in {IMAGES} rebuilt from {RUNS}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=["build", "record"], default="build")
    parser.add_argument("source", nargs="?", help="record: the finished run's directory")
    parser.add_argument("name", nargs="?", help="record: the name it is kept under in docs/runs")
    args = parser.parse_args()
    if args.action == "record":
        if not (args.source and args.name):
            parser.error("record needs RUN_DIR and NAME")
        record(args.source, args.name)
    else:
        build()


if __name__ == "__main__":
    boundary.run(main)
