"""Stage train: the MLP on data/split -> data/model/model.npz, and the per-epoch record in reports/live (DVCLive)."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.train` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse
import dataclasses

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import DivergenceError
from scratchnet.base.formats import load_npz, scale_pixels, sha256_of
from scratchnet.config import schema
from scratchnet.nn import checkpoint
from scratchnet.nn.blas import blas_threads
from scratchnet.training import advice
from scratchnet.training.live import epoch_record, run_id
from scratchnet.training.params import ModelParams, TrainParams
from scratchnet.training.progress import epoch_log
from scratchnet.training.recipe import build_model, train_model


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="directory holding train.npz and val.npz")
    parser.add_argument("model", help="the model .npz to write")
    parser.add_argument("live", help="the DVCLive directory of the per-epoch record")
    args = parser.parse_args()

    params = schema.load(ModelParams, TrainParams)
    model_params, train = params
    X_train, y_train = load_npz(os.path.join(args.split_dir, "train.npz"))
    X_val, y_val = load_npz(os.path.join(args.split_dir, "val.npz"))
    run = run_id(params.values, sha256_of(X_train, y_train), sha256_of(X_val, y_val))
    if train.fit.batch_size > len(X_train):  # clipped, as scikit-learn's MLPClassifier does (docs/reliability.md)
        print(
            f"train: train.batch_size {train.fit.batch_size} is more than the {len(X_train)} training rows: "
            f"clipped to {len(X_train)} (one batch an epoch)",
            file=sys.stderr,
            flush=True,
        )
        train = dataclasses.replace(train, fit=dataclasses.replace(train.fit, batch_size=len(X_train)))

    model = build_model(model_params)
    # One output set for the model and the record: on any failure both stay as they were. The
    # summary line is written before they replace the previous ones (a closed stdout is a failure).
    with atomic.outputs() as out:
        out.before_commit(params.verify)
        live = out.in_place(args.live)  # DVCLive writes as it goes, for `dvc exp show`
        try:
            with blas_threads(train.threads), epoch_log(train.fit.epochs) as log, epoch_record(live, run) as record:

                def on_epoch(r):
                    record(r)  # the record first: whoever sees the epoch's line finds it in the record
                    log(r)

                history = train_model(
                    model,
                    train.new_optimizer(),
                    train,
                    scale_pixels(X_train),
                    y_train,
                    scale_pixels(X_val),
                    y_val,
                    on_epoch=on_epoch,
                )
        except DivergenceError as e:
            raise advice.divergence(e, train) from None
        saved = {
            "model": schema.as_dict(model_params),
            "train": schema.as_dict(train),
            "best_epoch": history.best_epoch,
            "model_epoch": history.model_epoch,
            "epochs_run": len(history.records),
            "run": run,
        }
        with out.open(args.model, "wb") as f:
            checkpoint.save(model, f, saved)
        kept = history.records[history.model_epoch - 1]
        print(
            f"train: the weights of epoch {history.model_epoch} of {len(history.records)} "
            f"(lowest validation loss at {history.best_epoch}), "
            f"val_loss {kept['val_loss']:.4f}, val_accuracy {kept['val_accuracy']:.4f}, "
            f"peak memory {peak_rss_mb()} MB",
            flush=True,
        )


def peak_rss_mb():
    """This process's own peak resident memory (VmHWM; ru_maxrss would include DVC's, the parent's)."""
    with open("/proc/self/status", encoding="ascii") as f:
        return next((int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")), 0)


if __name__ == "__main__":
    boundary.run(main)
