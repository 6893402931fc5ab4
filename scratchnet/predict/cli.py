"""`python -m scratchnet predict --model MODEL INPUT...`: the digit and its probabilities per input.

An input is an image file (PNG, JPEG, TIFF, anything Pillow reads; any size up
to 40 million pixels, either polarity, 8-bit, 16-bit or float, rotated as its
EXIF orientation says) or a .npy array of one or more 28x28 digits. A bad input
(or a blank row of a .npy) gets one error line naming it and the others are
still predicted. In a photo (uneven light, a shadow, gray paper, noise, JPEG) the
digit is found as a person would see it. `--show DIR` writes the 28x28 image the
network saw for each input; an answer less probable than 0.7 carries a note saying
to check the picture.

Exit status: 0 every input predicted; 1 some `error:` line (an input could not
be predicted, or the model could not be loaded); 2 a usage error; 130
interrupted (Ctrl-C); 141 the output's reader went away (piped into `head`).
"""

import argparse
import json
import os
import sys

import numpy as np

from ..base.atomic import outputs
from ..base.boundary import describe_os_error, error_line, guarded, printable
from ..base.errors import InputError
from ..base.formats import N_CLASSES, N_PIXELS, scale_pixels
from ..nn import checkpoint
from .images import mnist_like, read_image, read_npy

# An answer less probable than this gets a note: on the photo benchmark (tools/photos.py) it
# flags most wrong answers and few right ones (docs/photos.md).
LOW_CONFIDENCE = 0.7
NOTE = f"low confidence (p < {LOW_CONFIDENCE}): check the picture (--show) or retake it"
SHOW_SCALE = 8  # the 28x28 image is written this many times larger, pixels as squares, for a person to see


def load_input(path):
    """[(label, pixels)] for one input file: pixels is 784 uint8 values, or the InputError saying why
    that row of a .npy cannot be predicted (a blank row does not stop the file's other rows)."""
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not an image or .npy file")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if path.lower().endswith(".npy"):
        rows = read_npy(path)
        labels = [path] if len(rows) == 1 else [f"{path}[{i}]" for i in range(len(rows))]
        return [
            (
                label,
                row
                if row.min() < row.max()
                else InputError(f"{label}: no digit found (the array is blank: every pixel is {row[0]})"),
            )
            for label, row in zip(labels, rows)
        ]
    return [(path, mnist_like(read_image(path), path).reshape(N_PIXELS))]


def predict_input(model, path):
    """[(label, pixels, probabilities or InputError)] for one input; InputError if the whole file cannot be read."""
    try:
        rows = load_input(path)
        good = [pixels for _, pixels in rows if not isinstance(pixels, InputError)]
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite output is reported below, not warned of
            proba = iter(model.predict_proba(scale_pixels(np.stack(good))) if good else [])
    except MemoryError:
        raise InputError(f"{path}: not enough memory to read it") from None
    except OSError as e:  # the machine refused (EACCES, EIO, ...): one line for this input, as for the others
        raise InputError(describe_os_error(OSError(e.errno, e.strerror or str(e), path))) from None
    results = []
    for label, pixels in rows:
        p = pixels if isinstance(pixels, InputError) else next(proba)
        if not isinstance(p, InputError) and not np.isfinite(p).all():
            p = InputError(f"{label}: the model's probabilities are not finite numbers; the model is unusable")
        results.append((label, pixels, p))
    return results


def output_line(label, p, as_json, shown=None):
    """One input's answer; a note if it is not confident, and where its 28x28 image was written."""
    digit = int(p.argmax())
    note = NOTE if p[digit] < LOW_CONFIDENCE else None
    if as_json:
        extra = {key: value for key, value in (("note", note), ("shown", shown)) if value is not None}
        return json.dumps(
            {"input": label, "digit": digit, "probabilities": [round(float(q), 6) for q in p], **extra},
            allow_nan=False,
        )
    return (
        f"{printable(label)}: {digit} (p={p[digit]:.3f})  "
        + " ".join(f"{k}:{q:.3f}" for k, q in enumerate(p))
        + (f"  [{printable(shown)}]" if shown else "")
        + (f"  {note}" if note else "")
    )


def show(directory, path, label, pixels, taken):
    """Write the 28x28 ``pixels`` the network saw for input ``label`` (of file ``path``) to DIR/<the
    file's name without its extension, and [row] for a row of a .npy>.png, SHOW_SCALE times larger,
    whole or not at all; its path. A name already in ``taken`` (written in this run, or an input)
    gets -2, -3, ... before .png."""
    from PIL import Image

    name = os.path.splitext(os.path.basename(os.path.normpath(path)))[0] + label[len(path) :]
    target, copy = os.path.join(directory, f"{name}.png"), 1
    while os.path.abspath(target) in taken:
        copy += 1
        target = os.path.join(directory, f"{name}-{copy}.png")
    taken.add(os.path.abspath(target))
    image = Image.fromarray(pixels.reshape(28, 28)).resize((28 * SHOW_SCALE, 28 * SHOW_SCALE), Image.NEAREST)
    with outputs() as out, out.open(target, "wb") as file:
        image.save(file, format="PNG")
    return target


def predict_all(args):
    """Predict every input; the exit code. Failures of the whole run (the model cannot be loaded,
    Ctrl-C, a closed pipe) are left to the entry points' error boundary, boundary.guarded."""
    model, _ = checkpoint.load(args.model, inputs=N_PIXELS, outputs=N_CLASSES, names=("pixels", "digits"))
    if args.show:
        if os.path.exists(args.show) and not os.path.isdir(args.show):
            raise InputError(f"--show {args.show}: is a file, not a directory; name a directory for the images")
        os.makedirs(args.show, exist_ok=True)
    taken = {os.path.abspath(path) for path in args.inputs}  # never written over
    failed = 0
    for path in args.inputs:
        try:
            results = predict_input(model, path)
        except InputError as e:
            results = [(path, None, e)]
        for label, pixels, p in results:
            if isinstance(p, InputError):
                print(error_line(p), file=sys.stderr)
                failed += 1
                continue
            shown = None
            if args.show:
                try:
                    shown = show(args.show, path, label, pixels, taken)
                except OSError as e:  # this image is not written (disk full, ...); the answer still is
                    print(error_line(describe_os_error(e)), file=sys.stderr)
                    failed += 1
            print(output_line(label, p, args.json, shown))
    sys.stdout.flush()  # a reader that went away (`| head`) is found here, inside the boundary, not at exit
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m scratchnet predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="data/model/model.npz", help="a model written by the train stage")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input instead of text")
    parser.add_argument(
        "--show",
        metavar="DIR",
        help="write the 28x28 image the network saw for each input to DIR/<input's file name>.png, "
        f"drawn {SHOW_SCALE}x larger ({28 * SHOW_SCALE}x{28 * SHOW_SCALE} pixels; -2, -3, ... where names repeat)",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or .npy arrays")
    args = parser.parse_args(argv)
    return guarded(predict_all, args)
