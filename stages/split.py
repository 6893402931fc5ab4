"""Stage split: data/raw/mnist.npz -> data/split/{train,val,test}.npz, seeded, by split.method."""

import argparse
import os

from scratchnet.base import atomic, boundary
from scratchnet.base.formats import load_npz
from scratchnet.config import schema
from scratchnet.splits import SplitParams, split_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", help="the .npz written by the fetch stage")
    parser.add_argument("out_dir", help="directory for train.npz, val.npz and test.npz")
    args = parser.parse_args()

    [split] = schema.load(SplitParams)
    X, y = load_npz(args.raw)
    parts = split_rows(y, split)
    with atomic.outputs() as out:
        for name, rows in zip(("train", "val", "test"), parts):
            out.save_npz(os.path.join(args.out_dir, f"{name}.npz"), X=X[rows], y=y[rows])
    print(
        f"split ({split.method}): "
        + ", ".join(f"{name} {len(rows)}" for name, rows in zip(("train", "val", "test"), parts))
    )


if __name__ == "__main__":
    boundary.run(main)
