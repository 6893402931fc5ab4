"""Atomic writes: an interrupted write leaves the previous file intact and no temporary behind."""
import os

import numpy as np
import pytest

from scratchnet import atomic


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_interrupted_write_keeps_the_previous_file(tmp_path, interrupt):
    path = tmp_path / "out" / "metrics.json"
    atomic.write_text(path, "previous\n")
    with pytest.raises(interrupt):
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.write("half of the new cont")
            raise interrupt()
    assert path.read_text() == "previous\n"
    assert os.listdir(path.parent) == ["metrics.json"]


def test_save_npz_writes_exactly_the_name_given(tmp_path):
    path = tmp_path / "model.bin"
    atomic.save_npz(path, a=np.arange(3))
    assert os.listdir(tmp_path) == ["model.bin"]
    with np.load(path) as f:
        assert f["a"].tolist() == [0, 1, 2]


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_creates_missing_directories(tmp_path):
    path = tmp_path / "a" / "b" / "c.txt"
    atomic.write_text(path, "x")
    assert path.read_text() == "x"
