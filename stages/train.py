"""Stage train: the MLP on data/split -> data/model/model.npz, and the per-epoch record in reports/live (DVCLive)."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.train` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse

from scratchnet.base import atomic, boundary
from scratchnet.base.formats import load_npz
from scratchnet.config import schema
from scratchnet.nn import checkpoint
from scratchnet.training.run import train_run
from scratchnet.training.sections import ModelParams, TrainParams


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="directory holding train.npz and val.npz")
    parser.add_argument("model", help="the model .npz to write")
    parser.add_argument("live", help="the DVCLive directory of the per-epoch record")
    args = parser.parse_args()

    params = schema.load(ModelParams, TrainParams)
    train_data = load_npz(os.path.join(args.split_dir, "train.npz"))
    val_data = load_npz(os.path.join(args.split_dir, "val.npz"))

    # One output set for the model and the record: on any failure both stay as they were. The
    # summary line is written before they replace the previous ones (a closed stdout is a failure).
    with atomic.outputs() as out:
        out.before_commit(params.verify)
        trained = train_run(params, train_data, val_data, out.in_place(args.live))
        with out.open(args.model, "wb") as f:
            checkpoint.save(trained.model, f, trained.config)
        print(trained.summary, flush=True)


if __name__ == "__main__":
    boundary.run(main)
