"""Distortions of the training images: seeded, fresh every call, row for row, in [0, 1], the identity
when off, and the same numbers as a plain SciPy implementation of the same maps."""

import numpy as np
import pytest
from scipy import ndimage

from scratchnet.base.formats import scale_pixels
from scratchnet.sources.registry import Sample
from scratchnet.training import distort
from scratchnet.training.distort import Distortion, Prefetcher

AFFINE = Distortion(shift=2, rotation=15, scale=0.15, shear=10)
ELASTIC = Distortion(elastic_alpha=34, elastic_sigma=4)
BOTH = Distortion(shift=2, rotation=15, scale=0.15, shear=10, elastic_alpha=34, elastic_sigma=4)
KINDS = {"affine": AFFINE, "elastic": ELASTIC, "both": BOTH}


@pytest.fixture(scope="module")
def digits():
    """150 real digits (15 a class) scaled to [0, 1]: more than two chunks."""
    X, y = Sample().load(None)
    rows = np.arange(0, 5000, 500)[:, None] + np.arange(15)
    return scale_pixels(X[rows.T.ravel()]), y[rows.T.ravel()]


def generator(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("kind", KINDS)
def test_seeded(digits, kind):
    X, _ = digits
    a, b, c = KINDS[kind](X, generator(1)), KINDS[kind](X, generator(1)), KINDS[kind](X, generator(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", KINDS)
def test_fresh_every_call(digits, kind):
    X, _ = digits
    rng = generator()
    first, second = KINDS[kind](X, rng), KINDS[kind](X, rng)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, X)


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_float32_array_in_0_1(digits, kind):
    X, _ = digits
    extreme = np.concatenate([X, np.ones((10, 784), np.float32), (X > 0.5).astype(np.float32)])
    before = extreme.copy()
    out = KINDS[kind](extreme, generator())
    assert out.dtype == np.float32 and out.shape == extreme.shape and not np.shares_memory(out, extreme)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(extreme, before)  # the input is left alone


@pytest.mark.parametrize("kind", KINDS)
def test_each_row_is_made_from_its_own_row_only_so_labels_still_apply(digits, kind):
    """Replace one input digit: with the same draws, only that row of the output changes."""
    X, _ = digits
    other = X.copy()
    other[70] = X[3]
    a, b = KINDS[kind](X, generator()), KINDS[kind](other, generator())
    changed = np.flatnonzero((a != b).any(axis=1))
    np.testing.assert_array_equal(changed, [70])


def center_of_mass(X):
    images = X.reshape(-1, 28, 28)
    mass = images.sum(axis=(1, 2))
    rows, cols = np.arange(28)[:, None], np.arange(28)[None, :]
    return np.stack([(images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass], 1)


def test_centers_of_mass_move_no_further_than_the_shift(digits):
    X, _ = digits
    moved = center_of_mass(Distortion(shift=2)(X, generator())) - center_of_mass(X)
    assert np.abs(moved).max() <= 2 + 0.3  # digits near the edge lose a few pixels


@pytest.mark.parametrize(
    "distortion",
    [
        Distortion(),
        Distortion(elastic_alpha=0.0, elastic_sigma=4.0),
        Distortion(rotation=0.0, scale=0.0, shear=0.0, elastic_sigma=1.0),
    ],
)
def test_the_identity_returns_the_images_exactly_in_float64(digits, distortion):
    X = digits[0].astype(np.float64) * (1 - 1e-9)  # values with all 52 bits in use
    out = distortion(X, generator())
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, X)


def test_elastic_with_alpha_zero_is_the_identity(digits):
    X, _ = digits
    np.testing.assert_array_equal(Distortion(elastic_alpha=0.0, elastic_sigma=4.0)(X, generator()), X)


def test_a_shift_of_one_pixel_moves_a_pixel_by_one_place():
    X = np.zeros((500, 28, 28))
    X[:, 10, 15] = 1.0
    out = Distortion(shift=1)(X.reshape(500, 784), generator()).reshape(500, 28, 28)
    assert (out.sum(axis=(1, 2)) == 1).all() and (out.max(axis=(1, 2)) == 1).all()  # still one whole pixel
    where = np.argwhere(out == 1)[:, 1:] - [10, 15]
    assert np.abs(where).max() == 1
    assert {tuple(w) for w in where} == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}


def test_shifts_are_whole_pixels_up_to_the_bound():
    X = np.zeros((2000, 28, 28), np.float32)
    X[:, 14, 14] = 1.0
    out = Distortion(shift=3)(X.reshape(2000, 784), generator()).reshape(2000, 28, 28)
    where = np.argwhere(out == 1)[:, 1:] - 14
    assert len(where) == 2000 and np.abs(where).max() == 3
    assert set(where[:, 0]) == set(range(-3, 4)) and set(where[:, 1]) == set(range(-3, 4))


# --- the same numbers as SciPy's own functions -----------------------------------------------


def resample(X, source_x, source_y):
    """Bilinear samples of each image at (source_x, source_y) in its pixels, zero outside: SciPy."""
    return np.stack(
        [
            ndimage.map_coordinates(image.reshape(28, 28), [sy, sx], order=1, mode="grid-constant", cval=0.0).ravel()
            for image, sx, sy in zip(X, source_x, source_y)
        ]
    )


def test_affine_is_scipy_map_coordinates_of_the_same_maps(digits):
    X = digits[0].astype(np.float64)
    out = AFFINE(X, generator(5))
    inverse, offset = AFFINE._inverse_maps(len(X), generator(5))  # the same draws
    y, x = np.mgrid[0:28, 0:28].astype(float)
    offset = offset - distort.PAD
    source_x = inverse[:, 0, 0, None, None] * x + inverse[:, 0, 1, None, None] * y + offset[:, 0, None, None]
    source_y = inverse[:, 1, 0, None, None] * x + inverse[:, 1, 1, None, None] * y + offset[:, 1, None, None]
    np.testing.assert_allclose(out, np.clip(resample(X, source_x, source_y), 0, 1), rtol=0, atol=1e-12)


def test_affine_maps_rotate_shear_and_scale_about_the_center():
    """A point's source under the drawn maps: the forward map (rotation, shear, scale, shift) undoes it."""
    d = Distortion(shift=2, rotation=30, scale=0.2, shear=20)
    inverse, offset = d._inverse_maps(200, generator(3))
    assert not np.allclose(inverse, np.eye(2))
    center = np.full(2, distort.CENTER)
    # The center moves by the shift only: its source is center - A⁻¹ shift, within the padded frame.
    source_of_center = np.einsum("nij,j->ni", inverse, center) + offset - distort.PAD
    shift = np.einsum("nij,nj->ni", np.linalg.inv(inverse), center - source_of_center)
    np.testing.assert_allclose(shift, np.round(shift), atol=1e-9)
    assert np.abs(np.round(shift)).max() == 2
    determinants = np.linalg.det(np.linalg.inv(inverse))  # rotation and shear keep area: det = scale x * scale y
    assert determinants.min() >= 0.8**2 - 1e-9 and determinants.max() <= 1.2**2 + 1e-9


def test_elastic_is_simards_field_through_scipy_gaussian_filter(digits):
    """Uniform noise in (-1, 1) per pixel and axis, gaussian_filter(sigma), times alpha, then bilinear
    resampling at pixel + displacement: SciPy on the same noise gives the same images."""
    X = digits[0].astype(np.float64)
    out = ELASTIC(X, generator(7))
    rng, fields = generator(7), []
    for start in range(0, len(X), distort.CHUNK):  # the noise as the chunks draw it: (y, image, axis, x)
        m = min(distort.CHUNK, len(X) - start)
        levels = rng.integers(0, distort.LEVELS, (28, m, 2, 28), dtype=np.uint16).transpose(1, 2, 0, 3)
        uniform = (2 * levels.astype(float) + 1) / distort.LEVELS - 1
        fields.append(34 * ndimage.gaussian_filter(uniform, (0, 0, 4, 4)))
    field = np.concatenate(fields)
    assert -1 < uniform.min() < -0.99 and 0.99 < uniform.max() < 1
    y, x = np.mgrid[0:28, 0:28].astype(float)
    expected = np.clip(resample(X, x + field[:, 0], y + field[:, 1]), 0, 1)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


# --- the interface ---------------------------------------------------------------------------


def test_from_values_is_none_when_everything_is_off():
    train = dict(
        affine_shift=0, affine_rotation=0.0, affine_scale=0.0, affine_shear=0.0, elastic_alpha=0.0, elastic_sigma=4.0
    )
    assert Distortion.from_values(train) is None
    train["elastic_alpha"] = 34.0
    assert Distortion.from_values(train) == ELASTIC


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shift": -1},
        {"shift": 1.5},
        {"rotation": -1},
        {"scale": 1.0},
        {"shear": 90},
        {"elastic_alpha": 1.0, "elastic_sigma": 0.0},
    ],
)
def test_impossible_distortions_are_refused(kwargs):
    with pytest.raises((ValueError, TypeError)):
        Distortion(**kwargs)


@pytest.mark.parametrize(
    "X",
    [np.zeros((3, 784), np.uint8), np.zeros((3, 28, 28), np.float32), np.zeros((3, 783), np.float32)],
    ids=["uint8", "3d", "783"],
)
def test_images_must_be_float_rows_of_784(X):
    with pytest.raises(ValueError, match=r"expected float32 or float64 images of shape \(n, 784\)"):
        AFFINE(X, generator())


def test_a_single_image_and_none(digits):
    X, _ = digits
    assert BOTH(X[:1], generator()).shape == (1, 784)
    assert BOTH(X[:0], generator()).shape == (0, 784)


def test_the_prefetcher_gives_the_epochs_of_successive_calls(digits):
    X, _ = digits
    expected_rng = generator(9)
    expected = [BOTH(X, expected_rng) for _ in range(3)]
    with Prefetcher(BOTH, X, generator(9)) as prefetcher:
        for epoch in expected:
            np.testing.assert_array_equal(prefetcher.next(), epoch)
    with pytest.raises(RuntimeError, match="closed"):
        prefetcher.next()


def test_the_prefetcher_hands_on_errors():
    with Prefetcher(AFFINE, np.zeros((3, 784), np.uint8), generator()) as prefetcher:
        with pytest.raises(ValueError, match="expected float32 or float64"):
            prefetcher.next()
