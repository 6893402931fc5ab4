"""`make exps`: the experiments of this commit as one compact table, from `dvc.api.exp_show()` rows.

Shows the params that differ between the rows, validation and test accuracy and
loss, the gaps and the best epoch, sorted by validation accuracy; a running
experiment shows its latest epoch. `make sweep` (tools/sweep/) writes the same
table (tools/exp_table.py) for its runs to reports/sweeps/NAME.md.
"""

import argparse

from scratchnet.base import boundary
from scratchnet.base.atomic import write_text
from scratchnet.base.errors import ScratchnetError

from .exp_table import markdown, rows, table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args()
    header, body = table(rows())
    if not any(any(cell for cell in row[2:]) for row in body):
        raise ScratchnetError("no results to show yet: run the pipeline first (`make sample` or `dvc exp run`)")
    text = markdown(header, body)
    if args.out:
        write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    boundary.run(main)
