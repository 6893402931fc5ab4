"""Find the handwritten digit in a photo, as a person does: the paper's uneven light and shadows taken
away, the ink told from sensor noise, specks and the page's edge, the digit kept as its connected ink.

images.mnist_like sends here every picture whose background is not flat; this is the only module of
the predict command that needs SciPy (ndimage), imported when a photo is read.
"""

import numpy as np

from ..base.errors import InputError

WORK_SIDE = 256  # longer side (pixels) a photo is analysed at: ample for a digit that ends up 20 px high
SMOOTHING = 1.0  # Gaussian sigma (pixels at WORK_SIDE) against sensor noise and JPEG blocks
# Two closings (the darkest ink filled in with the paper around it) estimate the paper's brightness
# (sides of an octagon, as fractions of the longer side). The small one fills a stroke but keeps a
# shadow that is wider than a stroke; the large one fills anything a digit holds, blobs and all.
SMALL_CLOSING, LARGE_CLOSING = 0.14, 0.35
STROKE_WIDTHS = 2.2  # second look: the small closing is this many of the digit's strokes wide...
SMALLEST_CLOSING = 0.08  # ...but no narrower than this (a scrawl's hairline strokes)
SHADOW = 0.05  # where the two closings differ by more than this fraction of the light: a dark region
NOISE_SIGMAS = 3  # ink must stand this many noise sigmas above the paper to extend a stroke
MIN_CONTRAST, CONTRAST_SIGMAS = 4, 2  # gray levels, noise sigmas: the least a digit stands out by
KEEP = 0.1  # a component with less than this fraction of the digit's ink is a speck
EDGE_WEIGHT = 0.25  # ink that touches the picture's edge counts for less: the page's edge, a shadow's rim


def digit_ink(gray, where):
    """The digit of a photo (2-D float array, 0..255) as light ink on black: a float array, 0..255,
    zero outside the digit's strokes. InputError naming ``where`` if no digit stands out of the paper."""
    from scipy import ndimage

    picture = ndimage.gaussian_filter(_resample(gray, WORK_SIDE / max(gray.shape)), SMOOTHING)
    if not _ink_is_dark(picture):
        picture = 255 - picture  # chalk on a board: the same steps, inverted
    side = max(picture.shape)
    large = _closing(picture, LARGE_CLOSING * side)
    ink, digit = _segment(picture, _closing(picture, SMALL_CLOSING * side), large, where)
    # A second look with the small closing fitted to this digit's strokes: shadows down to twice a
    # stroke's width are then told from ink, while a bold digit's strokes still fill.
    small = np.clip(STROKE_WIDTHS * _stroke_width(digit), SMALLEST_CLOSING * side, SMALL_CLOSING * side)
    ink, digit = _segment(picture, _closing(picture, small), large, where)
    # The strokes' soft rims belong to the digit too; its ink is scaled so the strokes' cores are
    # full white, as MNIST's are.
    digit = ndimage.binary_dilation(digit, iterations=2)
    ink = np.where(digit, ink, 0)
    return np.clip(ink / np.percentile(ink[digit], 95), 0, 1) * 255


def _resample(gray, factor):
    """``gray`` scaled by ``factor``: averaged over each new pixel's area when shrinking."""
    from PIL import Image

    height, width = gray.shape
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    image = Image.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.BOX if factor < 1 else Image.BILINEAR), dtype=np.float64)


def _ink_is_dark(picture):
    """Whether the ink is darker than the paper, as it almost always is in a photo: light ink only
    if two measures agree that more stands out of the paper (beyond its noise) on the light side.

    Each is wrong on its own now and then: the paper as a median over a third of the picture lags
    behind a shadow's edge, and a closing as wide as a stroke takes the paper inside a loop for a
    light stroke. Both shrink the picture first: the balance needs no detail.
    """
    from scipy import ndimage

    tiny = _resample(picture, min(1, 32 / max(picture.shape)))
    by_median = _dark_minus_light(tiny - ndimage.median_filter(tiny, size=max(3, round(max(tiny.shape) / 3))))
    small = _resample(picture, min(1, 64 / max(picture.shape)))
    diameter = SMALL_CLOSING * max(small.shape)
    closed, opened = _closing(small, diameter), -_closing(-small, diameter)
    by_stroke = _dark_minus_light(np.concatenate([(small - closed).ravel(), (small - opened).ravel()]))
    return by_median >= 0 or by_stroke >= 0


def _dark_minus_light(residual):
    """How much more of ``residual`` (picture minus paper) stands beyond 3 noise sigmas below than above."""
    noise = 3 * _noise_sigma(residual)
    return np.clip(-residual - noise, 0, None).sum() - np.clip(residual - noise, 0, None).sum()


def _noise_sigma(values):
    """Standard deviation of the paper's noise, from the median absolute deviation (robust to ink)."""
    return 1.4826 * np.median(np.abs(values - np.median(values)))


def _segment(picture, small_closing, large_closing, where):
    """(ink, digit): ink as a fraction of the paper's light (0..1) and the digit's pixels (a mask)."""
    from scipy import ndimage

    paper = _paper(small_closing, large_closing)
    darker = paper - picture
    ink = np.clip(darker / np.maximum(paper, 1), 0, 1)  # a fraction of the light: the same in a shadow

    # Otsu's threshold finds the strokes; a stroke extends through connected pixels that stand out
    # of the paper's noise (hysteresis), so faint or blurred parts stay with it.
    threshold = _otsu(ink)
    background = ink[ink <= threshold]
    low = max(threshold / 2, np.median(background) + NOISE_SIGMAS * _noise_sigma(background))
    labels, _ = ndimage.label(ink > low, structure=np.ones((3, 3)))
    strong = np.unique(labels[ink > threshold])
    labels, count = ndimage.label(np.isin(labels, strong[strong > 0]), structure=np.ones((3, 3)))

    # The digit: the component with the most ink, and any other with a fair share of it (a 5's
    # detached bar); specks are dropped, and ink along the picture's edge counts for less.
    mass = ndimage.sum_labels(ink, labels, np.arange(1, count + 1))
    mass *= np.where(_touches_edge(labels, count)[1:], EDGE_WEIGHT, 1)
    digit = np.isin(labels, np.flatnonzero(mass >= KEEP * mass.max()) + 1) if count else None
    if count == 0 or not _stands_out(darker, digit):
        raise InputError(f"{where}: no digit found (nothing stands out of the paper's noise)")
    return ink, digit


def _stands_out(darker, digit):
    """Whether the digit's ink is darker than the paper by more than the paper's noise could make it."""
    return darker[digit].mean() >= max(MIN_CONTRAST, CONTRAST_SIGMAS * _noise_sigma(darker[~digit]))


def _paper(small_closing, large_closing):
    """The paper's brightness at every pixel, ink taken away, from two closings of the picture.

    A closing fills dark features narrower than itself. The large one fills the whole digit, but
    also a shadow band across the picture; the small one keeps such a shadow. Where they differ in
    a region that reaches the picture's edge, that region is a shadow (or the edge of the page) and
    the small closing is the paper; elsewhere the difference is the digit's ink, filled by the large.
    """
    from scipy import ndimage

    dark = (large_closing - small_closing) / np.maximum(large_closing, 1) > SHADOW
    labels, count = ndimage.label(dark)
    shadow = ndimage.binary_dilation(_touches_edge(labels, count)[labels], iterations=3)
    return np.where(shadow, small_closing, large_closing)


def _closing(picture, diameter):
    """Grayscale closing by an octagon about ``diameter`` pixels across: the Minkowski sum of a
    horizontal, a vertical and two diagonal segments, which keeps it fast and near round, so
    diagonal shadows are kept as well as upright ones."""
    from scipy import ndimage

    side = max(1, round(diameter / (1 + 2**0.5))) | 1
    diagonal = max(1, round(side / 2**0.5)) | 1
    segments = [
        np.ones((1, side), bool),
        np.ones((side, 1), bool),
        np.eye(diagonal, dtype=bool),
        np.eye(diagonal, dtype=bool)[::-1],
    ]
    for segment in segments:
        picture = ndimage.grey_dilation(picture, footprint=segment, mode="nearest")
    for segment in segments:
        picture = ndimage.grey_erosion(picture, footprint=segment, mode="nearest")
    return picture


def _touches_edge(labels, count):
    """For each label 0..count: whether its component reaches the picture's edge (never 0, the background)."""
    edge = np.zeros(count + 1, bool)
    edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    edge[0] = False
    return edge


def _stroke_width(digit):
    """Typical width (pixels) of the strokes in the mask ``digit``: twice the distance from the
    strokes' middle lines (the distance transform's ridges) to the paper."""
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(digit)
    ridge = digit & (distance >= ndimage.maximum_filter(distance, 3))
    return 2 * np.median(distance[ridge]) if ridge.any() else 0


def _otsu(values, bins=256):
    """Otsu's threshold: the value that best splits ``values`` into two classes (most between-class variance)."""
    if values.min() == values.max():
        return values.max()  # one class only: nothing lies above it
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    below, below_sum = np.cumsum(counts), np.cumsum(counts * centres)
    above = below[-1] - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (below_sum[-1] * below / below[-1] - below_sum) ** 2 / (below * above)
    return edges[1:][np.nanargmax(np.where((below > 0) & (above > 0), between, np.nan))]
