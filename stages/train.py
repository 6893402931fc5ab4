"""Stage train: the MLP on data/split -> data/model/model.npz, and the per-epoch record in reports/live (DVCLive)."""
import argparse
import os

from scratchnet.nn.errors import DivergenceError
from scratchnet.nn.train import fit
from scratchnet.pipeline import advice, atomic, params, stage
from scratchnet.pipeline.datafiles import load_npz, scale_pixels
from scratchnet.pipeline.live import epoch_record
from scratchnet.pipeline.modelfile import save_model
from scratchnet.pipeline.progress import epoch_log
from scratchnet.pipeline.recipe import build_model, build_training, distorted_epochs
from scratchnet.pipeline.threads import blas_threads


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="directory holding train.npz and val.npz")
    parser.add_argument("model", help="the model .npz to write")
    parser.add_argument("live", help="the DVCLive directory of the per-epoch record")
    args = parser.parse_args()

    p = params.load("model", "train")
    X_train, y_train = load_npz(os.path.join(args.split_dir, "train.npz"))
    X_val, y_val = load_npz(os.path.join(args.split_dir, "val.npz"))

    model = build_model(p.model)
    optimizer, schedule, config = build_training(p.train, model)
    X_train = scale_pixels(X_train)
    try:
        with blas_threads(p.train.threads), epoch_log(p.train.epochs) as log, epoch_record(args.live) as record, \
                distorted_epochs(p.train, X_train) as epoch_images:
            history = fit(model, optimizer, X_train, y_train, scale_pixels(X_val), y_val, config, schedule=schedule,
                          on_epoch=lambda r: (log(r), record(r)), epoch_images=epoch_images)
    except DivergenceError as e:
        raise advice.divergence(e, p.train) from None

    saved = {"model": params.as_dict(p.model), "train": params.as_dict(p.train),
             "best_epoch": history.best_epoch, "epochs_run": len(history.records)}
    with atomic.outputs() as out:
        save_model(out, args.model, model, saved)
    best = history.records[history.best_epoch - 1]
    peak_mb = peak_rss_mb()
    print(f"train: best epoch {history.best_epoch} of {len(history.records)}, "
          f"val_loss {best['val_loss']:.4f}, val_accuracy {best['val_accuracy']:.4f}, "
          f"peak memory {peak_mb} MB")


def peak_rss_mb():
    """This process's own peak resident memory (VmHWM; ru_maxrss would include DVC's, the parent's)."""
    with open("/proc/self/status", encoding="ascii") as f:
        return next((int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")), 0)


if __name__ == "__main__":
    stage.run(main)
