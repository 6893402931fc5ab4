"""`make exps`: the experiments of this commit (COMMITS=N: of the last N) as one compact table.

Shows the params that differ between the rows, the kept model's validation and test
accuracy and loss, its gaps, the best epoch and the epochs run, sorted by validation
accuracy, with lines under the table defining each column (tools/exp_table.py). A running
experiment shows its latest epoch's figures, marked as such. `make sweep` (tools/sweep/)
writes the same table for its runs to reports/sweeps/NAME.md.
"""

import argparse
import textwrap

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ScratchnetError

from .exp_table import LEGEND, markdown, rows, running_records, table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="also write the table to this markdown file")
    parser.add_argument("--commits", type=int, default=1, help="the experiments of this many commits back from HEAD")
    args = parser.parse_args()
    if args.commits < 1:
        raise ScratchnetError(f"--commits {args.commits}: expected 1 or more (COMMITS=2 for the last two commits)")
    header, body = table(rows(commits=args.commits), running_records())
    if not any(any(cell for cell in row[2:]) for row in body):
        raise ScratchnetError("no results to show yet: run the pipeline first (`make sample` or `dvc exp run`)")
    text = markdown(header, body) + "\n" + textwrap.fill(LEGEND, 100) + "\n"
    if args.out:
        write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    boundary.run(main)
