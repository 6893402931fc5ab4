"""`python -m scratchnet predict --model MODEL INPUT...`: the digit and its probabilities per input.

An input is an image file (PNG, JPEG, anything Pillow reads; any size, either
polarity) or a .npy array of one or more 28x28 digits. A bad input gets one
error line naming the file and the others are still predicted.
Exit status: 0 all predicted, 1 some inputs failed, 2 the model could not be loaded.
"""
import argparse
import json
import os
import sys

import numpy as np

from ..pipeline.datafiles import N_PIXELS, scale_pixels
from ..pipeline.errors import InputError, ModelFileError
from ..pipeline.modelfile import load_digit_classifier
from .images import mnist_like, read_image, read_npy


def load_input(path):
    """[(label, 784 uint8 pixels)] for one input file."""
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not an image or .npy file")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if path.lower().endswith(".npy"):
        rows = read_npy(path)
        return [(path if len(rows) == 1 else f"{path}[{i}]", row) for i, row in enumerate(rows)]
    return [(path, mnist_like(read_image(path), path).reshape(N_PIXELS))]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m scratchnet predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="data/model/model.npz", help="a model written by the train stage")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input instead of text")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or .npy arrays")
    args = parser.parse_args(argv)

    try:
        model, _ = load_digit_classifier(args.model)
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    failed = 0
    for path in args.inputs:
        try:
            rows = load_input(path)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        proba = model.predict_proba(scale_pixels(np.stack([pixels for _, pixels in rows])))
        for (label, _), p in zip(rows, proba):
            digit = int(p.argmax())
            if args.json:
                print(json.dumps({"input": label, "digit": digit, "probabilities": [round(float(q), 6) for q in p]}))
            else:
                print(f"{label}: {digit} (p={p[digit]:.3f})  " + " ".join(f"{k}:{q:.3f}" for k, q in enumerate(p)))
    return 1 if failed else 0
