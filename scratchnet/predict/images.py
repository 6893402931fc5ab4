"""Turn a user's picture of a digit into an MNIST-like 28x28 image.

MNIST digits are light strokes on a black background, scaled so the digit fits
a 20x20 box (aspect ratio kept) and placed in a 28x28 field with its centre of
mass at the centre. ``mnist_like`` does the same to any grayscale picture.
"""
import numpy as np

from ..pipeline.errors import InputError

INK = 0.12  # fraction of the brightest pixel above which a pixel counts as ink


def read_image(path):
    """A grayscale float array (0..255) from any image file Pillow reads; alpha is composited on white."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image.load()
            if "A" in image.getbands() or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            return np.asarray(image.convert("L"), dtype=np.float64)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image file Pillow can read (PNG, JPEG, ...)") from None
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt image data
        raise InputError(f"{path}: the image cannot be decoded ({e})") from None


def mnist_like(gray, where):
    """28x28 uint8 in MNIST's form from a 2-D grayscale array (0..255) of any size."""
    from PIL import Image
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:  # dark ink on a light background: invert
        gray, border = 255 - gray, 255 - border
    gray = np.clip(gray - np.median(border), 0, None)
    if gray.max() < 8:
        raise InputError(f"{where}: no digit found (the image is blank)")
    gray *= 255 / gray.max()
    rows, cols = np.nonzero(gray > INK * 255)
    box = gray[rows.min():rows.max() + 1, cols.min():cols.max() + 1]

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
    field[top:top + h, left:left + w] = digit
    return np.round(field).astype(np.uint8)


def read_npy(path):
    """Rows of 784 pixels (uint8) from a .npy of shape (784,), (28, 28), (n, 784) or (n, 28, 28).

    Integers must be 0..255; floats in [0, 1] are taken as already scaled, other floats as 0..255.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable .npy array ({e})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "uif" or array.size == 0:
        raise InputError(f"{path}: expected a numeric array, got {getattr(array, 'dtype', type(array))}")
    shape = array.shape
    if shape in ((784,), (28, 28)):
        array = array.reshape(1, 784)
    elif array.ndim == 2 and shape[1] == 784 or array.ndim == 3 and shape[1:] == (28, 28):
        array = array.reshape(len(array), 784)
    else:
        raise InputError(f"{path}: array of shape {shape}; expected (784,), (28, 28), (n, 784) or (n, 28, 28)")
    is_float, array = array.dtype.kind == "f", array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InputError(f"{path}: the array holds NaN or infinite values")
    if array.min() < 0 or array.max() > 255:
        raise InputError(f"{path}: values must lie in 0..255 (or 0..1), found {array.min():g}..{array.max():g}")
    if is_float and array.max() <= 1:
        array = array * 255
    return np.round(array).astype(np.uint8)
