"""Seeded distortions of the training digits, drawn fresh every epoch: random affine maps and
the elastic distortions of Simard, Steinkraus & Platt (2003).

``Distortion.from_values(values)`` reads the train section's ``affine_*`` and ``elastic_*``
keys (None when all are off); ``distortion(X, rng)`` returns new images, row for row, so
the labels still apply. Each output pixel samples the input once, bilinearly, at

    source = A⁻¹ (pixel − center − shift) + center + elastic displacement(pixel)

with A = rotation · shear · scale about the image center, and zero outside the image.
The elastic displacement is Simard's: a uniform random field in (−1, 1) per pixel and
axis (65,536 evenly spaced levels: 16-bit integers are drawn twice as fast as floats),
smoothed by a Gaussian of width sigma (scipy.ndimage.gaussian_filter's filter, applied as
a 28 × 28 matrix on each side with NumPy's matmul: one matrix product instead of a 33-tap
convolution, five times faster), times alpha. Images go through in chunks that stay in the CPU cache, with
buffers reused: the work is memory-bound. ``Prefetcher`` computes the next epoch's images
in a background thread while the current epoch trains.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..base.constraints import Interval, Invalid, check, declared, hyperparameter

SIDE = 28  # images are SIDE x SIDE, stored as rows of SIDE * SIDE pixels
PAD = 2  # zero border around each image: samples outside the image read zeros
PADDED = SIDE + 2 * PAD
CHUNK = 64  # images per chunk; also fixes which random numbers go to which image
LEVELS = 2**16  # levels of the elastic noise: uniform 16-bit integers, twice as fast as floats
CENTER = (SIDE - 1) / 2


@dataclass(frozen=True)
class Distortion:
    """Random distortions, each drawn independently per image; 0 turns a part off.

    shift: whole pixels, each axis uniform in −shift..shift; rotation, shear: degrees,
    uniform in ±rotation, ±shear (shear along x); scale: each axis's factor uniform in
    [1 − scale, 1 + scale]; elastic_alpha, elastic_sigma: Simard's α (pixels) and σ.
    Each field declares its bounds and its params.yaml key (train.affine_shift, ...);
    a Distortion built in code is checked against them.
    """

    shift: int = hyperparameter(
        Interval(int, 0, 13, words="an integer in 0..13 (whole pixels)"), key="affine_shift", default=0
    )
    rotation: float = hyperparameter(
        Interval(float, 0, 180, words="a number in [0, 180] (degrees)"), key="affine_rotation", default=0.0
    )
    scale: float = hyperparameter(
        Interval(float, 0, 1, closed="left", words="a number in [0, 1) (the scale factor stays > 0)"),
        key="affine_scale",
        default=0.0,
    )
    shear: float = hyperparameter(
        Interval(float, 0, 90, closed="left", words="a number in [0, 90) (degrees)"), key="affine_shear", default=0.0
    )
    elastic_alpha: float = hyperparameter(Interval(float, 0, 100, words="a number in [0, 100] (pixels)"), default=0.0)
    elastic_sigma: float = hyperparameter(
        Interval(float, 0, 28, closed="right", words="a number in (0, 28] (pixels)"), default=0.0
    )  # matters only where elastic_alpha > 0

    def __post_init__(self):
        check(self, skip=() if self.elastic_alpha else ("elastic_sigma",))
        # A sigma can keep to its bounds and still give no filter (1e-200 squares to 0): build it now.
        try:
            with np.errstate(all="raise"):
                smoothing = self._smoothing()
            usable = smoothing is None or np.isfinite(smoothing[1]).all()
        except (ArithmeticError, FloatingPointError):
            usable = False
        if not usable:
            raise Invalid(
                f"train.elastic_sigma = {self.elastic_sigma:g} is not allowed: it is too small for a "
                "Gaussian filter (its square is 0 in floating point); expected a number in (0, 28] "
                "of at least 1e-150"
            )

    @classmethod
    def from_values(cls, values):
        """The distortion that params.yaml's validated train keys ask for, or None if every part is off."""
        distortion = cls(**{name: values[key] for key, (name, _) in declared(cls).items()})
        return distortion if distortion.is_on else None

    @property
    def is_on(self):
        return bool(self.shift or self.rotation or self.scale or self.shear or self.elastic_alpha)

    def __call__(self, X, rng):
        """Distorted copies of the images ``X`` (float32 or float64, (n, 784), in [0, 1]): a new array
        of the same shape and dtype, row i distorted from row i, clipped to [0, 1].

        ``rng`` (np.random.Generator) is advanced, so successive calls give fresh distortions.
        """
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64) or X.ndim != 2 or X.shape[1] != SIDE * SIDE:
            raise ValueError(f"expected float32 or float64 images of shape (n, {SIDE * SIDE}), got {X.dtype} {X.shape}")
        out = np.empty_like(X, order="C")
        inverse, offset = self._inverse_maps(len(X), rng)
        maps = np.concatenate([inverse, offset[:, :, None]], axis=2).astype(X.dtype)  # (n, 2, 3)
        work = _Resampler(min(CHUNK, len(X)), X.dtype, self._smoothing())
        for start in range(0, len(X), CHUNK):
            rows = slice(start, min(start + CHUNK, len(X)))
            work.run(X[rows], maps[rows], rng, out[rows])
        return out

    def _inverse_maps(self, n, rng):
        """Per image, the 2 x 2 matrix and offset taking an output pixel (x, y) to its source in the
        padded input (x is the column, y the row)."""
        shift = rng.integers(-self.shift, self.shift, size=(n, 2), endpoint=True) if self.shift else np.zeros((n, 2))
        theta = np.radians(rng.uniform(-self.rotation, self.rotation, n)) if self.rotation else np.zeros(n)
        factors = rng.uniform(1 - self.scale, 1 + self.scale, (n, 2)) if self.scale else np.ones((n, 2))
        shear = np.tan(np.radians(rng.uniform(-self.shear, self.shear, n))) if self.shear else np.zeros(n)
        cos, sin, zero, one = np.cos(theta), np.sin(theta), np.zeros(n), np.ones(n)
        rotate = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
        shear_x = np.stack([np.stack([one, shear], -1), np.stack([zero, one], -1)], -2)
        forward = rotate @ shear_x @ (factors[:, :, None] * np.eye(2))
        inverse = np.linalg.inv(forward)
        # source = inverse @ (pixel - CENTER - shift) + CENTER + PAD, written as inverse @ pixel + offset
        offset = CENTER + PAD - np.einsum("nij,nj->ni", inverse, CENTER + shift)
        return inverse, offset

    def _smoothing(self):
        """(alpha, G), G the matrix of the Gaussian of width sigma along one axis; None if elastic is off."""
        if not self.elastic_alpha:
            return None
        from scipy.ndimage import gaussian_filter1d  # the very filter gaussian_filter applies (reflect, truncate 4)

        return self.elastic_alpha, gaussian_filter1d(np.eye(SIDE), self.elastic_sigma, axis=0)


class _Resampler:
    """Resampling a chunk of images: its buffers, reused by every chunk of a call, and the steps that fill them.

    Arrays are (images, 784) or (images, 2, 784) so that NumPy's loops run 784 long, not 28.
    """

    def __init__(self, size, dtype, smoothing):
        self.padded = np.zeros((size, PADDED, PADDED), dtype)  # the border stays zero
        self.coords = np.empty((size, 2, SIDE * SIDE), dtype)  # source x, y of every output pixel
        self.floor = np.empty((size, 2, SIDE * SIDE), dtype)
        self.linear = np.empty((size, SIDE * SIDE), dtype)  # top-left corner as an index into the chunk
        self.index = np.empty((size, SIDE * SIDE), np.intp)
        self.values = np.empty((4, size, SIDE * SIDE), dtype)
        self.image_starts = (np.arange(size) * PADDED * PADDED).astype(dtype)[:, None]
        y, x = np.divmod(np.arange(SIDE * SIDE), SIDE)
        self.grid = np.stack([x, y, np.ones_like(x)]).astype(dtype)  # (3, 784): x, y, 1 of each pixel
        self.elastic = smoothing is not None
        if self.elastic:
            alpha, gauss = smoothing
            # The noise is laid out (y, image and axis, x), so that smoothing along y and then along x is
            # one matrix product each. Uniform levels k in 0..65535 stand for (2k + 1) / 65536 - 1 in
            # (-1, 1): alpha G (2u - 1) Gᵀ = (2 alpha / 65536) G (k - 32767.5) Gᵀ.
            self.noise = np.empty(SIDE * size * 2 * SIDE, dtype)
            self.half = np.empty(SIDE * size * 2 * SIDE, dtype)
            self.left = (2 * alpha / LEVELS * gauss).astype(dtype)
            self.right = gauss.T.astype(dtype)

    def run(self, X, maps, rng, out):
        m = len(X)
        padded, coords, floor, linear, index = (
            a[:m] for a in (self.padded, self.coords, self.floor, self.linear, self.index)
        )
        padded[:, PAD : PAD + SIDE, PAD : PAD + SIDE] = X.reshape(m, SIDE, SIDE)
        np.matmul(maps, self.grid, out=coords)  # (m, 2, 3) @ (3, 784): the affine source of every pixel
        if self.elastic:
            coords.reshape(m, 2, SIDE, SIDE)[...] += self._elastic_displacement(m, rng)
        # Bilinear sampling between the four pixels around each source point, in the zero-padded chunk.
        np.clip(coords, 0, PADDED - 2, out=coords)
        np.floor(coords, out=floor)
        coords -= floor  # the fractions
        np.multiply(floor[:, 1], PADDED, out=linear)
        linear += floor[:, 0]
        linear += self.image_starts[:m]
        np.copyto(index, linear, casting="unsafe")  # whole numbers below 2**24: exact in float32
        flat = padded.reshape(-1)
        values = self.values[:, :m]
        for k, step in enumerate((0, 1, PADDED, PADDED + 1)):  # top left, top right, bottom left, bottom right
            flat[step:].take(index, out=values[k])
        top_left, top, bottom_left, bottom = values
        fx, fy = coords[:, 0], coords[:, 1]
        top -= top_left
        top *= fx
        top += top_left
        bottom -= bottom_left
        bottom *= fx
        bottom += bottom_left
        bottom -= top
        bottom *= fy
        np.add(bottom, top, out=out)
        np.clip(out, 0, 1, out=out)

    def _elastic_displacement(self, m, rng):
        """Simard's field for the m images of the chunk: (m, 2, 28, 28) displacements, x then y."""
        size = SIDE * m * 2 * SIDE
        noise = self.noise[:size].reshape(SIDE, m * 2 * SIDE)
        half = self.half[:size].reshape(SIDE, m * 2 * SIDE)
        levels = rng.integers(0, LEVELS, size=noise.shape, dtype=np.uint16)
        np.subtract(levels, noise.dtype.type((LEVELS - 1) / 2), out=noise)  # exact in float32
        np.matmul(self.left, noise, out=half)  # smooth along y
        field = self.noise[:size].reshape(SIDE * m * 2, SIDE)
        np.matmul(half.reshape(SIDE * m * 2, SIDE), self.right, out=field)  # and along x
        return field.reshape(SIDE, m, 2, SIDE).transpose(1, 2, 0, 3)


class Prefetcher:
    """Distorted epochs computed one ahead in a background thread, while the current one trains.

    ``next()`` returns the next epoch's images (the arrays of successive ``distortion(X, rng)``
    calls, so the same seed gives the same epochs) and starts on the one after. NumPy releases
    the GIL in the work, so it runs on another core. The thread owns ``rng`` from now on.
    Use as a context manager, or call ``close``.
    """

    def __init__(self, distortion, X, rng):
        self._epoch = lambda: distortion(X, rng)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="distortion")
        self._future: Future | None = self._pool.submit(self._epoch)

    def next(self):
        if self._future is None:
            raise RuntimeError("the prefetcher is closed")
        images = self._future.result()  # raises what the thread raised
        self._future = self._pool.submit(self._epoch)
        return images

    def close(self):
        self._future = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
