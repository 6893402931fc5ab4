"""The stratified split: exact sizes, class proportions, determinism, no overlap."""
import numpy as np
import pytest

from scratchnet.pipeline.errors import DataError
from scratchnet.mnist.split import split_sizes, stratified_split


@pytest.fixture(scope="module")
def labels():
    """70,000 labels with MNIST's uneven class counts, in a scrambled order."""
    counts = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]  # mnist_784
    y = np.repeat(np.arange(10), counts)
    return np.random.default_rng(0).permutation(y)


def test_full_mnist_sizes(labels):
    train, val, test = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
    assert (len(train), len(val), len(test)) == (56_000, 7_000, 7_000)


def test_parts_partition_the_rows(labels):
    parts = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(joined) == len(labels)


def test_every_class_keeps_its_share(labels):
    overall = np.bincount(labels) / len(labels)
    for part in stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42):
        share = np.bincount(labels[part], minlength=10) / len(part)
        # stratification rounds each class's count: within one row of the exact share
        assert np.abs(share - overall).max() <= 1.5 / len(part)


def test_seeded(labels):
    a = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
    b = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
    c = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=43)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])


@pytest.mark.parametrize("n, val, test, expected", [
    (5000, 0.1, 0.1, (4000, 500, 500)), (70000, 0.2, 0.05, (52500, 14000, 3500)), (1001, 0.1, 0.1, (801, 100, 100)),
])
def test_split_sizes(n, val, test, expected):
    assert split_sizes(n, val, test) == expected


def test_a_class_too_small_to_stratify_is_an_error():
    y = np.concatenate([np.arange(100) % 9, [9]])  # digit 9 once
    with pytest.raises(DataError, match="cannot split 101 rows stratified by class"):
        stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0)


def test_too_few_rows_is_an_error():
    with pytest.raises(DataError, match="every part needs >= 10 rows"):
        stratified_split(np.arange(50) % 10, val_fraction=0.1, test_fraction=0.1, seed=0)
