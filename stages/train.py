"""Stage train: the MLP on data/split -> data/model/model.npz and reports/history.tsv."""
import argparse
import os
import resource

from scratchnet import atomic, checkpoint, data, params, stage
from scratchnet.model import MLP
from scratchnet.optim import make_optimizer
from scratchnet.schedule import make_schedule
from scratchnet.train import fit

COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="directory holding train.npz and val.npz")
    parser.add_argument("model", help="the model .npz to write")
    parser.add_argument("history", help="the per-epoch TSV to write")
    args = parser.parse_args()

    p = params.load()
    model_cfg, train_cfg = p["model"], p["train"]
    X_train, y_train = data.load_npz(os.path.join(args.split_dir, "train.npz"))
    X_val, y_val = data.load_npz(os.path.join(args.split_dir, "val.npz"))

    model = MLP([data.N_PIXELS, *model_cfg["hidden_sizes"], 10], seed=model_cfg["init_seed"],
                dropout=model_cfg["dropout"])
    optimizer = make_optimizer(model.params, train_cfg)
    history = fit(model, optimizer, data.scale_pixels(X_train), y_train, data.scale_pixels(X_val), y_val,
                  epochs=train_cfg["epochs"], batch_size=train_cfg["batch_size"], lam=train_cfg["lambda"],
                  patience=train_cfg["patience"], tol=train_cfg["tol"], seed=train_cfg["seed"],
                  schedule=make_schedule(train_cfg))

    config = {"model": model_cfg, "train": train_cfg, "best_epoch": history.best_epoch,
              "epochs_run": len(history.records)}
    checkpoint.save(model, args.model, config)
    rows = ["\t".join(COLUMNS)] + ["\t".join(f"{r[c]:.6g}" if c != "epoch" else str(r[c]) for c in COLUMNS)
                                   for r in history.records]
    atomic.write_text(args.history, "\n".join(rows) + "\n")
    best = history.records[history.best_epoch - 1]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux reports KiB
    print(f"train: best epoch {history.best_epoch} of {len(history.records)}, "
          f"val_loss {best['val_loss']:.4f}, val_accuracy {best['val_accuracy']:.4f}, "
          f"peak memory {peak_mb} MB")


if __name__ == "__main__":
    stage.run(main)
