"""Stage split: data/raw/mnist.npz -> data/split/{train,val,test}.npz, stratified and seeded."""
import argparse
import os

from scratchnet import atomic, data, params, stage
from scratchnet.split import stratified_split


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", help="the .npz written by the fetch stage")
    parser.add_argument("out_dir", help="directory for train.npz, val.npz and test.npz")
    args = parser.parse_args()

    cfg = params.load()["split"]
    X, y = data.load_npz(args.raw)
    parts = stratified_split(y, val_fraction=cfg["val_fraction"], test_fraction=cfg["test_fraction"],
                             seed=cfg["seed"])
    for name, rows in zip(("train", "val", "test"), parts):
        atomic.save_npz(os.path.join(args.out_dir, f"{name}.npz"), X=X[rows], y=y[rows])
    print("split: " + ", ".join(f"{name} {len(rows)}" for name, rows in zip(("train", "val", "test"), parts)))


if __name__ == "__main__":
    stage.run(main)
