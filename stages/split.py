"""Stage split: data/raw/mnist.npz -> data/split/{train,val,test}.npz, seeded, by split.method."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.split` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse

import numpy as np

from scratchnet.base import atomic, boundary
from scratchnet.base.formats import load_npz
from scratchnet.config import schema
from scratchnet.splits import SplitParams, split_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", help="the .npz written by the fetch stage")
    parser.add_argument("out_dir", help="directory for train.npz, val.npz and test.npz")
    args = parser.parse_args()

    params = schema.load(SplitParams)
    [split] = params
    X, y = load_npz(args.raw)
    parts = split_rows(y, split)
    # The summary line is written before the outputs replace the previous ones: a closed or full
    # standard output is an error that leaves them as they were.
    with atomic.outputs() as out:
        out.before_commit(params.verify)
        directory = out.directory(args.out_dir)  # replaced whole: no file of an earlier split lingers
        for name, rows in zip(("train", "val", "test"), parts):
            np.savez_compressed(os.path.join(directory, f"{name}.npz"), X=X[rows], y=y[rows])
        print(
            f"split ({split.method}): "
            + ", ".join(f"{name} {len(rows)}" for name, rows in zip(("train", "val", "test"), parts)),
            flush=True,
        )


if __name__ == "__main__":
    boundary.run(main)
