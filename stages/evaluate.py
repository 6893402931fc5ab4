"""Stage evaluate: model + splits -> reports/metrics.json, per-class metrics, predictions, figures."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.evaluate` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse

from scratchnet.base import atomic, boundary
from scratchnet.config import schema
from scratchnet.nn.kernels.blas import blas_threads
from scratchnet.report.evaluation import evaluate
from scratchnet.report.sections import EvaluateParams


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="the model .npz written by the train stage")
    parser.add_argument("split_dir", help="directory holding train.npz, val.npz and test.npz")
    parser.add_argument("live", help="the train stage's DVCLive directory (the per-epoch record)")
    parser.add_argument("metrics", help="the metrics JSON to write")
    parser.add_argument("per_class", help="the per-class metrics JSON to write")
    parser.add_argument("predictions", help="the CSV of test (actual, predicted) pairs to write")
    parser.add_argument("figures", help="directory for the PNG figures")
    args = parser.parse_args()

    params = schema.load(EvaluateParams)
    [settings] = params
    with blas_threads(settings.threads):
        report = evaluate(args.model, args.split_dir, args.live, settings)
        # Every output goes to a temporary first: a failure anywhere leaves the previous set whole.
        # The summary line is written before the outputs replace the previous ones: a closed or full
        # standard output is an error that leaves them as they were.
        with atomic.outputs() as out:
            out.before_commit(params.verify)
            out.write_json(args.metrics, report.summary)
            out.write_json(args.per_class, report.per_class)
            out.write_text(args.predictions, report.predictions_csv())
            report.draw(out.directory(args.figures))  # replaced whole: no figure of an earlier run lingers
            print(report.line(), flush=True)


if __name__ == "__main__":
    boundary.run(main)
