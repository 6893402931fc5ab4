"""The four classic MNIST IDX files (plain or gzip): 60,000 training digits, then the 10,000 of t10k."""

import gzip
import os
import struct
import zlib

import numpy as np

from ..base.errors import DataError
from ..base.formats import N_PIXELS, check_arrays

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MAX_IDX_BYTES = 1 << 28  # 256 MiB: MNIST's largest file holds 47 MB


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
    """Read one IDX file of unsigned bytes (plain or gzip) as an array.

    The header is read first and the size it declares checked against MAX_IDX_BYTES
    before the data are read, so a small gzip file that expands without end is refused
    after at most that many bytes, never read whole.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] != 0x08 or not 1 <= magic[3] <= 4:
                raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
            ndim = magic[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated header")
            shape = struct.unpack(f">{ndim}I", dims)
            expected = int(np.prod(shape, dtype=np.float64))
            if expected > MAX_IDX_BYTES:
                raise DataError(
                    f"{path}: header says shape {shape} ({expected:,} bytes), more than the "
                    f"{MAX_IDX_BYTES:,} an MNIST file holds (corrupt or not MNIST?)"
                )
            raw = f.read(expected + 1)  # one byte more tells a file that is too long
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    if len(raw) != expected:
        holds = f"{len(raw)} bytes" if len(raw) < expected else f"more than {expected} bytes"
        raise DataError(
            f"{path}: header says shape {shape} ({expected} bytes), file holds {holds} (truncated or corrupt?)"
        )
    return np.frombuffer(raw, np.uint8).reshape(shape)


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
            raise DataError(
                f"{labels_path}: {labels.shape[0] if labels.ndim else 0} labels "
                f"for {len(images)} images in {images_path}"
            )
        parts.append(check_arrays(images.reshape(len(images), N_PIXELS), labels, labels_path))
    return np.concatenate([parts[0][0], parts[1][0]]), np.concatenate([parts[0][1], parts[1][1]])
