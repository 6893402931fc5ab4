"""What a stage shows while it trains: a tqdm bar on a terminal, one log line per epoch otherwise."""

import contextlib
import sys


def line(record):
    return (
        f"train_loss {record['train_loss']:.4f} train_acc {record['train_accuracy']:.4f} "
        f"val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f} {record['seconds']:.2f}s"
    )


@contextlib.contextmanager
def epoch_log(epochs, enabled=None):
    """Yield an ``on_epoch(record)`` callback for ``fit``."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda r: print(f"epoch {r['epoch']:4d} {line(r)}", file=sys.stderr, flush=True)
        return
    from tqdm import tqdm

    with tqdm(total=epochs, unit="epoch", dynamic_ncols=True) as bar:
        yield lambda r: (bar.set_postfix_str(line(r)), bar.update())
