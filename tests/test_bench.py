"""`make bench`'s bookkeeping (no timing is asserted: benchmarks are not tests): the summary and table
from given rounds, the busy process of contended rounds started and stopped, the train stage's memory."""

import os

import pytest
from pipeline_helpers import PROJECT_ROOT

from tools import bench
from tools.pipeline_bench import train_stage_peak_rss

NAMES = ["scratchnet@1", "scratchnet@2", "pytorch@1", "pytorch@2"]


def rounds():
    def row(kind, scratch1, scratch2, torch1, torch2):
        return {
            "kind": kind,
            "matmul_gflops": {1: 100.0, 2: 200.0},
            "scratchnet@1": scratch1,
            "scratchnet@2": scratch2,
            "pytorch@1": torch1,
            "pytorch@2": torch2,
            "evaluate": 0.05,
            "predict": 0.35,
        }

    return [
        row("free", 1.0, 0.8, 2.0, 1.0),
        row("free", 1.2, 0.6, 2.0, 1.2),
        row("free", 1.1, 0.7, 2.0, 1.0),
        row("contended", 1.21, 5.0, 2.5, 9.0),
        row("contended", 1.0, 3.0, 2.4, 7.0),
    ]


def test_summary_takes_ratios_within_rounds_and_medians():
    s = bench.summarize(rounds(), NAMES)
    assert s["epoch_seconds"]["free"]["scratchnet@1"] == {"median": 1.1, "min": 1.0, "max": 1.2}
    assert s["epoch_seconds"]["contended"]["scratchnet@2"]["median"] == 4.0
    assert s["ratio_2_thread"] == pytest.approx({"median": 0.7, "min": 0.5, "max": 0.8})  # round by round
    assert s["ratio_1_thread"]["median"] == pytest.approx(0.55)
    flops = bench.epoch_flops(bench.SIZES, bench.N_TRAIN)
    assert s["fraction_of_2_thread_peak"] == pytest.approx(flops / 0.7 / 1e9 / 200)
    assert s["contended_1_thread_over_free_1_thread"] == pytest.approx(1.105 / 1.1)
    assert s["evaluate_fraction_of_epoch"] == pytest.approx(0.05 / 1.15)


def test_table_prints_the_figures_and_targets():
    result = {"summary": bench.summarize(rounds(), NAMES), "update_path": "sgemm (test)", "train_peak_rss_mb": 350}
    text = bench.table(result)
    assert "update path: sgemm (test)" in text
    assert "pytorch, 2 threads" in text and "scratchnet, 1 thread" in text
    line = next(line for line in text.splitlines() if "scratchnet / PyTorch epoch, 2 thread(s)" in line)
    assert "0.700" in line and "<= 0.75" in line and "yes" in line
    line = next(line for line in text.splitlines() if "fraction of the 2-thread matmul peak" in line)
    assert ">= 0.6" in line
    assert "contended epoch, 1 thread(s) / free 1-thread epoch" in text


def test_summary_without_contended_rounds_or_pytorch():
    free = [r for r in rounds() if r["kind"] == "free"]
    s = bench.summarize(free, NAMES[:2])
    assert "contended" not in s["epoch_seconds"] and "ratio_2_thread" not in s
    bench.table({"summary": s, "update_path": "pure NumPy", "train_peak_rss_mb": 350})


def test_the_busy_process_runs_only_inside_contended_rounds():
    with bench.busy_process() as spinner:
        assert spinner.poll() is None  # running
        with open(f"/proc/{spinner.pid}/stat") as f:
            assert f.read().split()[2] in "RS"
    assert spinner.poll() is not None
    assert not os.path.exists(f"/proc/{spinner.pid}") or open(f"/proc/{spinner.pid}/stat").read().split()[2] in "ZX"


def test_train_stage_memory_comes_from_the_real_stage():
    assert train_stage_peak_rss(PROJECT_ROOT, rows=(640, 64)) > 20


def test_the_distorted_epoch_is_compared_with_the_clean_one_round_by_round():
    rows = rounds()
    for row, distorted in zip(rows, (1.2, 1.8, 1.1, 2.0, 2.0)):
        row["scratchnet+distort@1"] = distorted
    s = bench.summarize(rows, NAMES + ["scratchnet+distort@1"])
    assert s["distorted_over_clean"] == pytest.approx({"median": 1.2, "min": 1.0, "max": 1.5})  # free rounds only
    assert "epoch with affine + elastic distortions / without" in bench.table(
        {"summary": s, "update_path": "sgemm", "train_peak_rss_mb": 300}
    )
