"""All-or-nothing outputs: a failure part way leaves the previous set whole and no temporary behind."""

import os

import numpy as np
import pytest

from scratchnet.base import atomic


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_interrupted_write_keeps_the_previous_file(tmp_path, interrupt):
    path = tmp_path / "out" / "metrics.json"
    atomic.write_text(path, "previous\n")
    with pytest.raises(interrupt), atomic.outputs() as out:
        with out.open(path) as f:
            f.write("half of the new cont")
        raise interrupt()
    assert path.read_text() == "previous\n"
    assert os.listdir(path.parent) == ["metrics.json"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_a_failure_after_some_outputs_leaves_the_whole_previous_set(tmp_path, interrupt):
    paths = [
        tmp_path / "reports" / "metrics.json",
        tmp_path / "reports" / "figures" / "a.png",
        tmp_path / "reports" / "figures" / "b.png",
    ]
    with atomic.outputs() as out:
        for path in paths:
            out.write_text(path, "run 1")
    with pytest.raises(type(interrupt)), atomic.outputs() as out:
        out.write_text(paths[0], "run 2")
        out.write_text(paths[1], "run 2")
        raise interrupt  # before b.png: the new set is incomplete
    assert [p.read_text() for p in paths] == ["run 1"] * 3
    assert sorted(os.listdir(tmp_path / "reports")) == ["figures", "metrics.json"]
    assert sorted(os.listdir(tmp_path / "reports" / "figures")) == ["a.png", "b.png"]


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    stale = tmp_path / f".model.npz.abc123{atomic.SUFFIX}"
    stale.write_text("left by SIGKILL")
    foreign = tmp_path / ".someone-elses.tmp"
    foreign.write_text("not ours")
    atomic.write_text(tmp_path / "model.npz", "x")
    assert not stale.exists() and foreign.exists()


def test_save_npz_writes_exactly_the_name_given(tmp_path):
    path = tmp_path / "model.bin"
    with atomic.outputs() as out:
        out.save_npz(path, a=np.arange(3))
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
