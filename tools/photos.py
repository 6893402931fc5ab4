"""Test digits rendered as phone photos under named, seeded conditions, and predict's accuracy on each.

`make photos MODEL=... MNIST_DIR=...` (python -m tools.photos --model MODEL --idx-dir DIR [--n N])
renders N digits per condition, drawn from the test rows of params.yaml's split (the digits a model
trained with that params.yaml never saw), reads each picture the way `predict` does, and prints and
writes (reports/photos.json) each condition's accuracy beside the clean digits' accuracy with the
same model, and the accuracy of one global threshold (how a flat-background picture is read) on
the same pictures.
"""

import argparse
import io
import time
import zlib
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image

from scratchnet.base import boundary
from scratchnet.base.atomic import outputs
from scratchnet.base.errors import InputError, ParamsError
from scratchnet.base.formats import N_CLASSES, N_PIXELS, scale_pixels
from scratchnet.base.strictjson import dumps
from scratchnet.config import schema
from scratchnet.nn import checkpoint
from scratchnet.predict.cli import LOW_CONFIDENCE
from scratchnet.predict.images import mnist_like, mnist_like_flat, read_image
from scratchnet.sources.idx import fetch_idx, idx_problem
from scratchnet.splits import SplitParams, split_rows

WHITE_PAPER, GRAY_PAPER = (225, 250), (130, 180)  # gray level of the paper in full light
DARK_INK, FAINT_INK = (150, 210), (60, 90)  # how many gray levels the ink is darker than the paper


@dataclass(frozen=True)
class Photo:
    """How a digit is photographed; every range is drawn from uniformly, per picture."""

    paper: tuple = WHITE_PAPER
    ink_contrast: tuple = DARK_INK
    scale: tuple = (6, 10)  # picture pixels per MNIST pixel
    margin: tuple = (0.0, 0.3)  # paper around the 28x28 field, per side, as a fraction of the field
    canvas: tuple = None  # the picture's side as a multiple of the field's: the digit placed anywhere in it
    gradient: tuple = None  # light from one side: the paper's brightness falls by this many levels across
    shadow: tuple = None  # a band across the picture with this fraction of the light taken away
    rotation: float = 0.0  # degrees either way
    blur: tuple = None  # Gaussian blur's sigma in MNIST pixels
    noise: tuple = None  # sensor noise's sigma in gray levels
    jpeg: tuple = None  # JPEG quality
    specks: tuple = None  # how many dark dots (dust, a pen's touch) are scattered over the paper
    page_edge: tuple = None  # the table beyond the page's edge along one side: this fraction of the picture


PHONE = Photo(paper=GRAY_PAPER, gradient=(50, 120), noise=(8, 8), blur=(0.15, 0.3), jpeg=(70, 90))
CONDITIONS = {
    "white paper": Photo(),
    "gray paper": Photo(paper=GRAY_PAPER),
    "light from one side": Photo(gradient=(50, 120)),
    "sensor noise": Photo(noise=(4, 16)),
    "blur": Photo(blur=(0.15, 0.3)),
    "rotation": Photo(rotation=10.0),
    "shadow band": Photo(shadow=(0.3, 0.5)),
    "faint ink": Photo(ink_contrast=FAINT_INK),
    "jpeg": Photo(jpeg=(70, 90)),
    "off-centre": Photo(canvas=(2.5, 3.5)),
    "specks": Photo(specks=(3, 15), noise=(2, 4)),
    "specks, flat background": Photo(specks=(3, 15)),
    "page edge": Photo(page_edge=(0.08, 0.2)),
    "phone": PHONE,
    "phone, shadow, faint ink": replace(PHONE, shadow=(0.3, 0.5), ink_contrast=FAINT_INK),
}


EXAMPLE = "phone, shadow, faint ink"  # the condition of --example's picture


def render(digit, condition, seed, index):
    """The 28x28 ``digit`` (uint8, light on black) photographed under ``condition`` (a name in
    CONDITIONS): the picture's file, PNG or JPEG, as bytes.

    Seeded by (seed, the condition's name, index), so any picture can be rendered again on its own.
    """
    from scipy import ndimage

    photo = CONDITIONS[condition]
    rng = np.random.default_rng([seed, zlib.crc32(condition.encode()), index])
    uniform = lambda bounds: rng.uniform(*bounds)
    scale = uniform(photo.scale)
    field = round(28 * scale)
    ink = np.asarray(
        Image.fromarray(digit.reshape(28, 28).astype(np.float32) / 255, mode="F").resize((field, field), Image.BICUBIC)
    )
    if photo.rotation:
        ink = np.asarray(
            Image.fromarray(ink, mode="F").rotate(uniform((-photo.rotation, photo.rotation)), Image.BICUBIC)
        )
    ink = np.clip(ink, 0, 1)
    if photo.canvas:
        height, width = (round(field * uniform(photo.canvas)) for _ in range(2))
        top, left = rng.integers(0, height - field + 1), rng.integers(0, width - field + 1)
    else:
        top, bottom, left, right = (round(field * uniform(photo.margin)) for _ in range(4))
        height, width = field + top + bottom, field + left + right
    coverage = np.zeros((height, width), np.float32)
    coverage[top : top + field, left : left + field] = ink

    paper = uniform(photo.paper)
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    if photo.specks:
        for _ in range(rng.integers(photo.specks[0], photo.specks[1] + 1)):
            radius = uniform((0.15, 0.5)) * scale / max(height, width)  # 0.3 to 1 MNIST pixel across
            centre = rng.uniform(0, height / max(height, width)), rng.uniform(0, width / max(height, width))
            coverage = np.maximum(coverage, np.clip(1.5 - np.hypot(rows - centre[0], cols - centre[1]) / radius, 0, 1))
    picture = paper - min(uniform(photo.ink_contrast), paper - 5) * coverage  # reflectance, in full light
    if photo.page_edge:
        # The table beyond the page's edge, along a side chosen at random, the edge tilted up to 10 degrees.
        side, tilt = rng.integers(4), np.tan(np.radians(uniform((-10, 10))))
        across, along = [(rows, cols), (cols, rows)][side % 2]
        extent = across.max()
        depth = (across if side < 2 else extent - across) - tilt * (along - along.mean())
        table = np.clip((uniform(photo.page_edge) * extent - depth) * max(height, width), 0, 1)  # a soft pixel
        picture = picture * (1 - table) + uniform((20, 80)) * table
    light = np.ones((height, width))
    if photo.gradient:
        angle = uniform((0, 2 * np.pi))
        along = rows * np.sin(angle) + cols * np.cos(angle)
        along = (along - along.min()) / (along.max() - along.min())
        light *= 1 - uniform(photo.gradient) / paper * along
    if photo.shadow:
        angle = uniform((0, np.pi))
        centre_row, centre_col = (
            (top + field * uniform((0.3, 0.7))) / max(height, width),
            (left + field * uniform((0.3, 0.7))) / max(height, width),
        )
        across = np.abs((rows - centre_row) * np.cos(angle) - (cols - centre_col) * np.sin(angle))
        half_width, penumbra = uniform((0.08, 0.18)), uniform((0.005, 0.03))
        band = 1 / (1 + np.exp((across - half_width) / penumbra))
        light *= 1 - uniform(photo.shadow) * band
    picture = picture * light
    if photo.blur:
        picture = ndimage.gaussian_filter(picture, uniform(photo.blur) * scale)
    if photo.noise:
        picture = picture + rng.normal(0, uniform(photo.noise), picture.shape)
    image = Image.fromarray(np.clip(np.round(picture), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    if photo.jpeg:
        image.save(buffer, "JPEG", quality=round(uniform(photo.jpeg)))
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def benchmark(model, X, indices, conditions, seed):
    """{condition: results} for the test digits ``X`` (their row ``indices`` seed the pictures): the
    28x28 images predict makes of each picture and, for comparison, the one global threshold's."""

    def probabilities(images):
        """Each image's probabilities; NaN where no digit was found (an InputError)."""
        found = [image for image in images if image is not None]
        proba = iter(model.predict_proba(scale_pixels(np.stack(found).reshape(-1, 784))) if found else [])
        return np.array([next(proba) if image is not None else np.full(10, np.nan) for image in images])

    def attempt(read, gray):
        try:
            return read(gray, "picture")
        except InputError:
            return None

    results = {}
    for name in conditions:
        now, before, seconds = [], [], 0.0
        for digit, index in zip(X, indices):
            gray = read_image(io.BytesIO(render(digit, name, seed, index)))
            start = time.perf_counter()
            now.append(attempt(mnist_like, gray))
            seconds += time.perf_counter() - start
            before.append(attempt(mnist_like_flat, gray))
        results[name] = {
            "probabilities": probabilities(now),
            "before": probabilities(before),
            "ms_per_picture": 1000 * seconds / len(X),
        }
    return results


def accuracy(probabilities, y):
    """Share of rows whose most probable digit is the label (a row without a digit found is wrong)."""
    found = ~np.isnan(probabilities).any(axis=1)
    return float(np.mean(found & (np.nan_to_num(probabilities).argmax(axis=1) == y)))


def confidence_table(results, y, thresholds):
    """For each threshold on the top probability, over every picture of every condition: the share of
    wrong answers below it (flagged, rightly) and of right answers below it (flagged needlessly)."""
    proba = np.concatenate([r["probabilities"] for r in results.values()])
    labels = np.tile(y, len(results))
    found = ~np.isnan(proba).any(axis=1)
    top, right = proba[found].max(axis=1), proba[found].argmax(axis=1) == labels[found]
    return [
        {
            "threshold": t,
            "wrong_flagged": float(np.mean(top[~right] < t)) if (~right).any() else None,
            "right_flagged": float(np.mean(top[right] < t)),
        }
        for t in thresholds
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model file written by the train stage")
    parser.add_argument(
        "--idx-dir", required=True, help="the MNIST IDX files; the test rows of params.yaml's split are photographed"
    )
    parser.add_argument("--n", type=int, default=500, help="digits per condition, drawn at random from the test rows")
    parser.add_argument("--seed", type=int, default=0, help="seeds the choice of digits and every picture")
    parser.add_argument("--condition", action="append", choices=list(CONDITIONS), help="only these (repeatable)")
    parser.add_argument("--out", default="reports/photos.json")
    parser.add_argument(
        "--example", metavar="PATH", help=f"also write the first digit's picture under {EXAMPLE!r} to PATH (a JPEG)"
    )
    args = parser.parse_args()
    if args.n < 1:
        raise ParamsError(f"--n {args.n}: expected an integer >= 1")
    if not 0 <= args.seed < 2**63:
        raise ParamsError(f"--seed {args.seed}: expected an integer from 0 to 2**63 - 1")
    if problem := idx_problem(args.idx_dir):
        raise ParamsError(f"--idx-dir {args.idx_dir!r}: {problem}")

    (split,) = schema.load(SplitParams)
    model, _ = checkpoint.load(args.model, inputs=N_PIXELS, outputs=N_CLASSES, names=("pixels", "digits"))
    X, y = fetch_idx(args.idx_dir)
    _, _, test_rows = split_rows(y, split)
    if args.n > len(test_rows):
        raise ParamsError(f"--n {args.n}: the split has {len(test_rows):,} test digits; ask for at most that many")
    indices = np.sort(np.random.default_rng(args.seed).choice(test_rows, args.n, replace=False))
    X_test, y_test = X[indices], y[indices]
    clean = float(np.mean(model.predict(scale_pixels(X_test)) == y_test))
    results = benchmark(model, X_test, indices, args.condition or list(CONDITIONS), args.seed)

    print(f"{len(indices)} test digits ({split.method} split) per condition (seed {args.seed}), model {args.model}\n")
    print(f"{'condition':<28}{'accuracy':>9}{'vs clean':>10}{'global threshold':>18}{'no digit':>10}{'ms/picture':>12}")
    print(f"{'clean (the digits themselves)':<28}{clean:>9.4f}")
    report = {
        "model": args.model,
        "n": len(indices),
        "split": split.method,
        "seed": args.seed,
        "clean_accuracy": clean,
        "conditions": {},
    }
    for name, r in results.items():
        row = {
            "accuracy": accuracy(r["probabilities"], y_test),
            "global_threshold": accuracy(r["before"], y_test),
            "no_digit_found": int(np.isnan(r["probabilities"]).any(axis=1).sum()),
            "ms_per_picture": round(r["ms_per_picture"], 1),
            "photo": {k: v for k, v in asdict(CONDITIONS[name]).items() if v is not None},
        }
        row["difference"] = row["accuracy"] - clean
        report["conditions"][name] = row
        print(
            f"{name:<28}{row['accuracy']:>9.4f}{100 * row['difference']:>+9.2f}p{row['global_threshold']:>18.4f}"
            f"{row['no_digit_found']:>10}{row['ms_per_picture']:>12.1f}"
        )
    report["low_confidence"] = {
        "threshold_in_use": LOW_CONFIDENCE,
        "table": confidence_table(results, y_test, (0.5, 0.6, 0.7, 0.8, 0.9)),
    }
    print(f"\nthe top probability below a threshold, over every picture (predict notes below {LOW_CONFIDENCE}):")
    for row in report["low_confidence"]["table"]:
        wrong = "-" if row["wrong_flagged"] is None else f"{row['wrong_flagged']:.3f}"
        print(f"  < {row['threshold']:.1f}: wrong answers {wrong}, right answers {row['right_flagged']:.3f}")
    with outputs() as out:  # the report and the example picture together, or neither
        out.write_text(args.out, dumps(report))
        if args.example:
            with out.open(args.example, "wb") as file:
                file.write(render(X_test[0], EXAMPLE, args.seed, indices[0]))
    print(
        f"\nwritten to {args.out}"
        + (f" and {args.example} (digit row {indices[0]}, a {y_test[0]})" if args.example else "")
    )


if __name__ == "__main__":
    boundary.run(main)
