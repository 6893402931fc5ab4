"""The per-epoch record of a training run, written with DVCLive as the epochs happen.

DVCLive (the DVC team's logger) appends one row per epoch to
``DIR/plots/metrics/NAME.tsv`` and rewrites ``DIR/metrics.json`` with the latest
epoch's values, under ``latest_epoch`` (``latest_epoch.val.accuracy``: never the name of
the kept model's figure in reports/metrics.json), so `dvc exp show` (queued runs too) and
the VS Code extension show the running experiment's epoch, losses and accuracies as it trains. It is the only
per-epoch record: evaluate's curve figures read the same files
(``report/history.py``). DVCLive empties the directory when a run starts, so an
interrupted run's partial record never mixes with the next run's (and the train stage puts
the previous record back if the run fails: base/atomic.py's ``in_place``).

The record names its run (``run.json``), and so does the model file: the run is a digest of
what determines the training (the model and train sections, the training and validation
data), so a rerun with the same inputs is the same run and its outputs stay bit-identical.
"""

import contextlib
import hashlib
import os

from ..base.errors import ScratchnetError
from ..base.formats import EPOCH_METRICS, LATEST_EPOCH, RUN_FILE
from ..base.strictjson import dumps


def run_id(sections, *data_digests):
    """The run's name: a digest of the params sections (their validated values, schema.Loaded.values,
    so "0.001" and 0.001 name the same run) and the data's digests."""
    text = dumps({"params": sections, "data": list(data_digests)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@contextlib.contextmanager
def epoch_record(directory, run):
    """Yield an ``on_epoch(record)`` callback for ``fit`` that logs each epoch to ``directory``,
    which names the training run ``run``."""
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
    with open(os.path.join(directory, RUN_FILE), "w", encoding="utf-8") as f:
        f.write(dumps({"run": run}))
    with live:

        def on_epoch(record):
            live.step = record["epoch"]  # the x axis is the epoch, 1, 2, ...
            for field, name in EPOCH_METRICS.items():
                live.log_metric(name, record[field])
            # DVCLive keeps the latest values as its summary (metrics.json), which it lets a caller
            # reshape: the same values, under a key that says they are the latest epoch's.
            latest = {key: value for key, value in live.summary.items() if key not in ("step", LATEST_EPOCH)}
            live.summary = {LATEST_EPOCH: {"epoch": record["epoch"], **latest}}
            live.next_step()

        yield on_epoch
