"""Stage fetch: MNIST from the source data.source names -> data/raw/mnist.npz + provenance."""

import os
import sys

if not __package__:  # run as a file: import as `python -m stages.fetch` does, with its plain-shell line
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import stages  # noqa: F401

import argparse

from scratchnet.base import atomic, boundary
from scratchnet.config import schema
from scratchnet.sources.registry import DataParams, fetch


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="the .npz to write (X uint8 (n, 784), y uint8)")
    parser.add_argument("provenance", help="the JSON file describing where the data came from")
    args = parser.parse_args()

    params = schema.load(DataParams)
    [data] = params
    data.check_files()
    X, y, provenance = fetch(data)
    # The summary line is written before the outputs replace the previous ones: a closed or full
    # standard output is an error that leaves them as they were.
    with atomic.outputs() as out:
        out.before_commit(params.verify)
        out.save_npz(args.out, X=X, y=y)
        out.write_json(args.provenance, provenance)
        print(f"fetch: {provenance['rows']} digits from {provenance['detail']}", flush=True)


if __name__ == "__main__":
    boundary.run(main)
