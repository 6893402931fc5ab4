"""The per-epoch record of a training run, written with DVCLive as the epochs happen.

DVCLive (the DVC team's logger) appends one row per epoch to
``DIR/plots/metrics/NAME.tsv`` and rewrites ``DIR/metrics.json`` with the latest
values, so `dvc exp show` (queued runs too) and the VS Code extension show the
running experiment's epoch, losses and accuracies as it trains. It is the only
per-epoch record: evaluate's curve figures read the same files
(``report/history.py``). DVCLive empties the directory when a run starts, so an
interrupted run's partial record never mixes with the next run's.
"""

import contextlib

from ..base.errors import ScratchnetError
from ..base.formats import EPOCH_METRICS


@contextlib.contextmanager
def epoch_record(directory):
    """Yield an ``on_epoch(record)`` callback for ``fit`` that logs each epoch to ``directory``."""
    from dvclive import Live
    from scmrepo.exceptions import SCMError

    # dvcyaml=None: dvc.yaml declares these metrics and plots itself (DVCLive would rewrite it);
    # save_dvc_exp=False: a stage run by hand creates no experiment of its own.
    try:
        live = Live(dir=str(directory), save_dvc_exp=False, dvcyaml=None, report=None)
    except SCMError as e:  # DVCLive 3.49 fails in a git repository without commits (its issue #522)
        raise ScratchnetError(
            f"DVCLive cannot start in this git repository ({e}): commit first "
            "(git add -A && git commit -m ...), then run again"
        ) from None
    with live:

        def on_epoch(record):
            live.step = record["epoch"]  # the x axis is the epoch, 1, 2, ...
            live.log_metric("epoch", record["epoch"], plot=False)
            for name in EPOCH_METRICS:
                live.log_metric(name, record[name])
            live.next_step()

        yield on_epoch
