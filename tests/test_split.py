"""The splits: stratified (exact sizes, class proportions, determinism, no overlap) and official
(MNIST's own test digits, validation from the training digits), and the split stage."""

import os
import subprocess
import sys

import numpy as np
import pytest
from pipeline_helpers import CONFIGURATION_FILE, PROJECT_ROOT, load_npz

from scratchnet.base import atomic
from scratchnet.base.errors import DataError
from scratchnet.config import schema
from scratchnet.sources.registry import Sample
from scratchnet.splits import SPLITS, SplitParams, official_split, split_rows, split_sizes, stratified_split


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


@pytest.mark.parametrize(
    "n, val, test, expected",
    [
        (5000, 0.1, 0.1, (4000, 500, 500)),
        (70000, 0.2, 0.05, (52500, 14000, 3500)),
        (1001, 0.1, 0.1, (801, 100, 100)),
    ],
)
def test_split_sizes(n, val, test, expected):
    assert split_sizes(n, val, test) == expected


def test_a_class_too_small_to_stratify_is_an_error():
    y = np.concatenate([np.arange(100) % 9, [9]])  # digit 9 once
    with pytest.raises(DataError, match="cannot split 101 rows stratified by class"):
        stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0)


def test_too_few_rows_is_an_error():
    with pytest.raises(DataError, match="every part needs >= 10 rows"):
        stratified_split(np.arange(50) % 10, val_fraction=0.1, test_fraction=0.1, seed=0)


# --- the official split ----------------------------------------------------------------------


def official(labels, val_fraction=0.1, seed=42):
    return official_split(labels, val_fraction=val_fraction, test_fraction=0.1, seed=seed)


def test_official_test_rows_are_rows_60000_to_69999_in_order(labels):
    train, val, test = official(labels)
    np.testing.assert_array_equal(test, np.arange(60_000, 70_000))
    assert (len(train), len(val), len(test)) == (54_000, 6_000, 10_000)


def test_official_validation_is_carved_from_the_training_digits(labels):
    train, val, test = official(labels)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(60_000))
    assert not set(val) & set(test) and not set(train) & set(test)


@pytest.mark.parametrize("val_fraction, n_val", [(0.1, 6_000), (0.2, 12_000), (1 / 60, 1_000)])
def test_official_validation_size_is_val_fraction_of_60000(labels, val_fraction, n_val):
    train, val, _ = official(labels, val_fraction)
    assert (len(train), len(val)) == (60_000 - n_val, n_val)


def test_official_validation_is_stratified(labels):
    _, val, _ = official(labels)
    overall = np.bincount(labels[:60_000]) / 60_000
    share = np.bincount(labels[val], minlength=10) / len(val)
    assert np.abs(share - overall).max() <= 1.5 / len(val)


def test_official_validation_is_seeded(labels):
    a, b, c = official(labels, seed=42), official(labels, seed=42), official(labels, seed=43)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    np.testing.assert_array_equal(a[2], c[2])  # the test set is the same for every seed


def test_official_split_refuses_the_sample_naming_the_key_and_the_fix():
    _, y = Sample().load(None)
    with pytest.raises(DataError) as info:
        official(y)
    message = str(info.value)
    assert "split.method official" in message and "5,000 rows" in message
    assert "data.source sample has no official test set" in message
    assert "split.method: stratified" in message and "openml or idx" in message


def test_official_split_refuses_a_validation_set_too_small(labels):
    with pytest.raises(DataError, match="split.val_fraction 1e-05 of 60,000 training digits is 1"):
        official(labels, val_fraction=1e-5)


# --- the registry and the split section --------------------------------------------------------


def section(method, val_fraction=0.1, test_fraction=0.1, seed=42):
    return SplitParams(method=method, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)


def test_split_rows_takes_the_function_the_method_names(labels):
    assert set(SPLITS) == {"stratified", "official"}
    for method, function in SPLITS.items():
        expected = function(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
        assert all(np.array_equal(a, b) for a, b in zip(split_rows(labels, section(method)), expected))


def test_the_default_split_is_the_stratified_one_unchanged(labels):
    """params.yaml's split section gives the parts the stratified split always gave (the split stage's
    outputs stay bit-identical)."""
    [split] = schema.load(SplitParams, path=str(CONFIGURATION_FILE))
    assert split.method == "stratified"
    expected = stratified_split(
        labels, val_fraction=split.val_fraction, test_fraction=split.test_fraction, seed=split.seed
    )
    assert all(np.array_equal(a, b) for a, b in zip(split_rows(labels, split), expected))


# --- the split stage as a program ------------------------------------------------------------


def run_split_stage(tmp_path, X, y, method):
    with atomic.outputs() as out:
        out.save_npz(str(tmp_path / "mnist.npz"), X=X, y=y)
    text = CONFIGURATION_FILE.read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(text.replace("method: stratified", f"method: {method}"), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "stages.split", "mnist.npz", "split"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_split_stage_writes_the_official_test_set(tmp_path, labels):
    X = np.zeros((70_000, 784), np.uint8)
    X[:, 0], X[:, 1] = np.arange(70_000) % 256, np.arange(70_000) // 256  # each row's number in two pixels
    done = run_split_stage(tmp_path, X, labels, "official")
    assert done.returncode == 0, done.stderr
    assert "split (official): train 54000, val 6000, test 10000" in done.stdout
    X_test, y_test = load_npz(tmp_path / "split" / "test.npz")
    np.testing.assert_array_equal(X_test, X[60_000:])
    np.testing.assert_array_equal(y_test, labels[60_000:])


def test_split_stage_refuses_the_official_split_of_the_sample(tmp_path):
    X, y = Sample().load(None)
    done = run_split_stage(tmp_path, X, y, "official")
    assert done.returncode == 1, done.stderr
    assert "split.method official" in done.stderr and "split.method: stratified" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "split").exists() or not any((tmp_path / "split").iterdir())
