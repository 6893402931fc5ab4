"""Turn a user's picture of a digit into an MNIST-like 28x28 image.

A picture is read as a person sees it: its EXIF orientation applied, 16-bit and
float pixels scaled by their real range, transparency composited on white.
MNIST digits are light strokes on a black background, scaled so the digit fits
a 20x20 box (aspect ratio kept) and placed in a 28x28 field with its centre of
mass at the centre. ``mnist_like`` does the same to any grayscale picture: one
on a flat background by a global threshold, a photo through photo.digit_ink.

What is wrong with a file's contents is an InputError naming the file. An
OSError with an errno (no read permission, a disk error) is about the machine,
not the file's contents: it is left to the caller, which names the file.
"""

import contextlib
import os
import warnings

import numpy as np

from ..base.errors import InputError
from ..base.npz import machine_fault

INK = 0.12  # fraction of the brightest pixel above which a pixel counts as ink
FLAT = 2  # gray levels: a border with 90% of its pixels this close to its median is a flat background
MAX_PIXELS = 40_000_000  # width x height of the largest picture read; checked before the picture is decoded


def read_image(source, where=None, max_pixels=MAX_PIXELS):
    """A grayscale float array (0..255) from any image file Pillow reads, as a person sees the picture.

    ``source`` is a path or a binary file (the demo's uploads); messages name ``where`` (by default
    ``source``). The EXIF orientation is applied; alpha and a transparent colour are composited on
    white; 16-bit, 32-bit integer and float pixels are scaled by their range (see _deep_gray). A
    picture of more than ``max_pixels`` pixels is refused before it is decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = source if where is None else where
    too_big = f"is more than the {max_pixels:,} pixels this reads; scale the picture down"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a decoder's complaints (corrupt EXIF...) are not the user's output
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _opened(source) as file, Image.open(file) as image:  # reads the header only
                width, height = image.size
                if width * height > max_pixels:
                    raise InputError(f"{path}: {width} x {height} pixels {too_big}")
                if width * height == 0:
                    raise InputError(f"{path}: the picture is {width} x {height} pixels, it has none")
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                return _gray(image, path)
    except InputError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Raised by Image.open itself, before the size check above, for sizes beyond Pillow's own limit.
        raise InputError(
            f"{path}: more than Pillow's limit of {Image.MAX_IMAGE_PIXELS:,} pixels, which {too_big}"
        ) from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image file Pillow can read (PNG, JPEG, ...)") from None
    except OSError as e:
        if machine_fault(e):
            raise  # reading the file failed (EACCES, EIO, ...), not decoding it: the caller reports it
        raise InputError(f"{path}: the image cannot be decoded ({e})") from None  # truncated or corrupt data
    except MemoryError:
        raise
    except Exception as e:  # every way Pillow's decoders fail on these bytes
        raise InputError(f"{path}: the image cannot be decoded ({type(e).__name__}: {str(e)[:200]})") from None


def _opened(source):
    """``source`` to read a picture from: a path opened here, a file object as it is. Pillow is never
    given a name: it memory-maps an uncompressed TIFF it opens by name, and then drops a transposing
    EXIF orientation (Pillow 13.0)."""
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb")
    return contextlib.nullcontext(source)


def _gray(image, path):
    """Gray levels 0..255 (a float array) of the loaded Pillow ``image``."""
    from PIL import Image

    if image.mode.startswith("I") or image.mode == "F":
        return _deep_gray(image, path)
    try:
        if "A" in image.getbands() or "transparency" in image.info:  # LA, RGBA, PA, P with transparency...
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        return np.asarray(image.convert("L"), dtype=np.float64)
    except ValueError as e:  # "conversion from LAB to RGB not supported", ...
        raise InputError(f"{path}: a picture in Pillow's mode {image.mode} cannot be read as gray ({e})") from None


def _deep_gray(image, path):
    """Gray levels 0..255 of an image in one of Pillow's modes of more than 8 bits a pixel.

    16-bit ("I;16", "I;16B", ...): 0..65535 is 0..255. "I" (32-bit integers; Pillow does not keep
    the file's own depth): the range of the smallest type that holds its values, 0..255, 0..65535
    or 0..2**31-1. Float ("F"): values in [0, 1] are times 255, values within 0..255 are taken as
    they are, anything else is an InputError naming the range found. A transparent gray value
    (PNG's tRNS) becomes white, as alpha is composited on white.
    """
    values = np.asarray(image, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{path}: the picture holds NaN or infinite pixel values")
    lo, hi = values.min(), values.max()
    if image.mode.startswith("I;16"):
        top = 65535
    elif image.mode == "F":
        if lo < 0 or hi > 255:
            raise InputError(f"{path}: float pixel values range over {lo:g}..{hi:g}; expected 0..1 or 0..255")
        top = 1 if hi <= 1 else 255
    else:
        if lo < 0:
            raise InputError(f"{path}: pixel values range over {lo:g}..{hi:g}; negative values are not gray levels")
        top = next((top for top in (255, 65535, 2**31 - 1) if hi <= top), hi)
    gray = values * (255 / top)
    transparent = image.info.get("transparency")
    if isinstance(transparent, (int, float)) and not isinstance(transparent, bool):
        gray[values == transparent] = 255
    return gray


def mnist_like(gray, where):
    """28x28 uint8 in MNIST's form from a 2-D grayscale array (0..255) of any size.

    A picture on a flat background (a digit of the data set, one drawn on a computer) is read by
    mnist_like_flat, with one global threshold. Any other picture is a photo, whose digit
    photo.digit_ink finds.
    """
    if _is_flat(gray):
        return mnist_like_flat(gray, where)
    try:
        import scipy.ndimage  # noqa: F401

        from .photo import digit_ink
    except ImportError:
        raise InputError(
            f"{where}: a photo (its background is not flat) needs SciPy: pip install 'scratchnet[predict]'"
        ) from None

    return centred(digit_ink(gray, where))


def _is_flat(gray):
    """Whether the global threshold reads the picture right: a border of one gray level (90% of its
    pixels within FLAT of it, so a digit may touch the edge), and the ink on the side of it that the
    threshold assumes (darker than a light background, lighter than a dark one)."""
    border = _border(gray)
    level = np.median(border)
    if np.mean(np.abs(border - level) <= FLAT) < 0.9:
        return False
    darker, lighter = np.clip(level - gray, 0, None).sum(), np.clip(gray - level, 0, None).sum()
    return darker == lighter or (darker > lighter) == (level > 127)  # equal: a blank picture, refused below


def mnist_like_flat(gray, where):
    """mnist_like by one global threshold (INK), right for a digit on a flat background: inverted if
    the background is light, the background's level subtracted."""
    border = _border(gray)
    if np.median(border) > 127:  # dark ink on a light background: invert
        gray, border = 255 - gray, 255 - border
    gray = np.clip(gray - np.median(border), 0, None)
    if gray.max() < 8:
        raise InputError(f"{where}: no digit found (the image is blank)")
    return centred(gray)


def _border(gray):
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def centred(ink):
    """28x28 uint8 in MNIST's form from light ink on black (a float array, any size, not all zero)."""
    from PIL import Image

    ink = ink * (255 / ink.max())
    rows, cols = np.nonzero(ink > INK * 255)
    box = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]

    # Fit the digit's box into 20x20, keeping its aspect ratio.
    scale = 20 / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    digit = np.asarray(Image.fromarray(box.astype(np.float32), mode="F").resize(size, Image.LANCZOS))
    digit = np.clip(digit, 0, 255)

    # Centre of mass at the centre of the 28x28 field.
    h, w = digit.shape
    total = digit.sum()
    cy, cx = (digit.sum(axis=1) @ np.arange(h)) / total, (digit.sum(axis=0) @ np.arange(w)) / total
    top, left = int(np.clip(round(14 - cy), 0, 28 - h)), int(np.clip(round(14 - cx), 0, 28 - w))
    field = np.zeros((28, 28))
    field[top : top + h, left : left + w] = digit
    return np.round(field).astype(np.uint8)


def read_npy(path):
    """Rows of 784 pixels (uint8) from a .npy of shape (784,), (28, 28), (n, 784) or (n, 28, 28).

    Integers must be 0..255; floats in [0, 1] are taken as already scaled, other floats as 0..255.
    The header's shape and dtype are checked before the values are read.
    """
    from numpy.lib import format as npy

    try:
        with open(path, "rb") as file:
            if file.read(4) == b"PK\x03\x04":
                raise InputError(f"{path}: an .npz archive, not a .npy array")
            file.seek(0)
            version = npy.read_magic(file)
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read_header(file)
            _check_npy_header(path, shape, dtype, file)
            file.seek(0)
            array = npy.read_array(file, allow_pickle=False)
    except (InputError, MemoryError):
        raise
    except OSError as e:
        if machine_fault(e):
            raise  # reading the file failed (EACCES, EIO, ...): the caller reports it
        raise InputError(f"{path}: not a readable .npy array ({e})") from None
    except Exception as e:  # every way NumPy's reader fails on these bytes (the header's parser included)
        raise InputError(f"{path}: not a readable .npy array ({type(e).__name__}: {str(e)[:200]})") from None
    array = array.reshape(-1, 784)
    is_float, array = array.dtype.kind == "f", array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InputError(f"{path}: the array holds NaN or infinite values")
    if array.min() < 0 or array.max() > 255:
        raise InputError(f"{path}: values must lie in 0..255 (or 0..1), found {array.min():g}..{array.max():g}")
    if is_float and array.max() <= 1:
        array = array * 255
    return np.round(array).astype(np.uint8)


def _check_npy_header(path, shape, dtype, file):
    """InputError unless a .npy whose header says ``shape`` and ``dtype`` holds digits that ``file`` has room for."""
    if dtype.hasobject:
        raise InputError(f"{path}: not a readable .npy array (it holds Python objects; only numbers are read)")
    n_values = int(np.prod(shape, dtype=np.float64))
    if n_values == 0:
        raise InputError(f"{path}: holds no values (an array of shape {shape})")
    if dtype.kind not in "uif":
        raise InputError(f"{path}: holds values of type {dtype}, which are not numeric")
    if not (
        shape in ((784,), (28, 28))
        or (len(shape) == 2 and shape[1] == 784)
        or (len(shape) == 3 and shape[1:] == (28, 28))
    ):
        raise InputError(f"{path}: array of shape {shape}; expected (784,), (28, 28), (n, 784) or (n, 28, 28)")
    start = file.tell()
    room = file.seek(0, 2) - start
    if n_values * dtype.itemsize > room:
        raise InputError(
            f"{path}: its header claims shape {shape} of {dtype} ({n_values * dtype.itemsize:,} "
            f"bytes) but the file holds {room:,} bytes after it (truncated?)"
        )
