"""`make bench`'s bookkeeping (no timing is asserted: benchmarks are not tests): the summary and table
from given rounds, the busy process of contended rounds started and stopped, the contenders training
through fit, the overhead measurement and the train stage's own record and memory; the step profile's
line clock."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import CONFIGURATION_FILE, PROJECT_ROOT

from tools.bench import runs as bench_runs
from tools.bench import speed as bench
from tools.bench import step_profile
from tools.bench.pipeline import train_stage_run
from tools.bench.step_profile import LineClock

NAMES = ["scratchnet sgd@1", "scratchnet sgd@2", "pytorch sgd@1", "pytorch sgd@2"]


def rounds():
    def row(kind, scratch1, scratch2, torch1, torch2):
        return {
            "kind": kind,
            "matmul_gflops": {1: 100.0, 2: 200.0},
            "scratchnet sgd@1": scratch1,
            "scratchnet sgd@2": scratch2,
            "pytorch sgd@1": torch1,
            "pytorch sgd@2": torch2,
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
    assert s["epoch_seconds"]["free"]["scratchnet sgd@1"] == {"median": 1.1, "min": 1.0, "max": 1.2}
    assert s["epoch_seconds"]["contended"]["scratchnet sgd@2"]["median"] == 4.0
    assert s["ratio"]["sgd@2"] == pytest.approx({"median": 0.7, "min": 0.5, "max": 0.8})  # round by round
    assert s["ratio"]["sgd@1"]["median"] == pytest.approx(0.55)
    flops = bench.epoch_flops(bench.SIZES, bench.N_TRAIN)
    assert s["fraction_of_peak"]["sgd@2"] == pytest.approx(flops / 0.7 / 1e9 / 200)
    assert s["contended_1_thread_over_free_1_thread"] == pytest.approx(1.105 / 1.1)
    assert s["evaluate_fraction_of_epoch"] == pytest.approx(0.05 / 1.1)


def test_table_prints_the_figures_and_targets():
    result = {
        "summary": bench.summarize(rounds(), NAMES),
        "paths": {"scratchnet sgd@1": "sgemm: sgemm (test)"},
        "overhead_us": {"64": {"sgd": 100.0}, "256": {"sgd": 200.0}},
        "stage": {"epoch_seconds": 1.21, "peak_rss_mb": 350},
    }
    text = bench.table(result)
    assert "path, sgd: sgemm: sgemm (test)" in text
    assert "pytorch sgd@2" in text and "scratchnet sgd@1" in text
    line = next(line for line in text.splitlines() if "scratchnet / PyTorch epoch, sgd, 2 thread(s)" in line)
    assert "0.700" in line and "<= 0.65" in line and "NO" in line
    line = next(line for line in text.splitlines() if "overhead beyond the products, batch 64, sgd" in line)
    assert "<= 120" in line and "yes" in line
    line = next(line for line in text.splitlines() if "the bench fit epoch in the same run" in line)
    assert "1.100" in line  # 1.21 / 1.1
    assert "contended SGD epoch, 1 thread(s) / free 1-thread epoch" in text


def test_summary_without_contended_rounds_or_pytorch():
    free = [r for r in rounds() if r["kind"] == "free"]
    s = bench.summarize(free, NAMES[:2])
    assert "contended" not in s["epoch_seconds"] and s["ratio"] == {}
    bench.table({"summary": s})


def test_the_busy_process_runs_only_inside_contended_rounds():
    with bench.busy_process() as spinner:
        assert spinner.poll() is None  # running
        with open(f"/proc/{spinner.pid}/stat") as f:
            assert f.read().split()[2] in "RS"
    assert spinner.poll() is not None
    assert not os.path.exists(f"/proc/{spinner.pid}") or open(f"/proc/{spinner.pid}/stat").read().split()[2] in "ZX"


def test_contenders_train_through_fit_and_say_their_path():
    data = bench_runs.synthetic(640, 64)
    for name in bench_runs.OPTIMIZERS:
        contender = bench_runs.Contender("scratchnet", name, 1, data)
        before = contender.model.params[0].copy()
        assert contender.epoch() > 0 and not np.array_equal(before, contender.model.params[0])
        assert contender.path().startswith(("sgemm: ", "numpy: "))
        contender.close()


def test_the_overhead_is_measured_for_every_optimizer():
    overhead = bench_runs.step_overhead(64, repeats=3, rounds=1)
    assert set(overhead) == set(bench_runs.OPTIMIZERS) and all(np.isfinite(v) for v in overhead.values())


def test_the_train_stage_run_reads_its_own_record_and_memory():
    run = train_stage_run(PROJECT_ROOT, rows=(640, 64), params_path=CONFIGURATION_FILE)
    assert run["peak_rss_mb"] > 20 and run["epoch_seconds"] > 0


def test_the_distorted_epoch_is_compared_with_the_clean_one_round_by_round():
    rows = rounds()
    for row, distorted in zip(rows, (1.2, 1.8, 1.1, 2.0, 2.0)):
        row["scratchnet+distort sgd@1"] = distorted
    s = bench.summarize(rows, [*NAMES, "scratchnet+distort sgd@1"])
    assert s["distorted_over_clean"] == pytest.approx({"median": 1.2, "min": 1.0, "max": 1.5})  # free rounds only
    assert "SGD epoch with affine + elastic distortions / without" in bench.table({"summary": s})


def _callee():
    time.sleep(0.004)


def _caller():
    time.sleep(0.002)
    _callee()


def test_the_line_clock_charges_each_line_its_own_time():
    """Self time: the line calling _callee is not charged the callee's sleep, each sleep its own line."""
    clock = LineClock(root=str(Path(__file__).parent))
    clock.run(_caller, 5)
    by_source = {step_profile.source(key): (ns / 5 / 1e6, clock.hits[key] / 5) for key, ns in clock.ns.items()}
    assert by_source["time.sleep(0.002)"][0] >= 2.0 and by_source["time.sleep(0.004)"][0] >= 4.0
    assert by_source["_callee()"][0] < 2.0
    assert {runs for _, runs in by_source.values()} == {1.0}


def test_a_step_profile_gives_every_line_of_the_step_and_its_products():
    L = len(bench_runs.SIZES) - 1
    for name in ("sgd", "adam"):
        result = step_profile.profile(name, 8, steps=2, rounds=1)
        lines = {line["line"]: line for line in result["lines"]}
        assert all(where.startswith("scratchnet/") for where in lines) and result["timed_us"] > 0
        if result["path"].startswith("sgemm"):  # forward, backprop, weight and bias gradients: all sgemm calls
            (call,) = [line for line in lines.values() if line["source"] == "self._function(*self._arguments)"]
            assert call["runs"] == L + (L - 1) + 2 * L
        assert any(where.startswith(f"scratchnet/nn/optim/{name}.py") for where in lines)
