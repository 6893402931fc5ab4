"""The export stage on its own: a model file of the train stage becomes an ONNX file that ONNX Runtime
runs as scratchnet does; a bad or foreign model file gets one ``error:`` line and leaves the previous
ONNX file as it was. (The stage in the real pipeline, on real digits: test_pipeline.py.)"""

import subprocess
import sys

import numpy as np
import pytest
from pipeline_helpers import PROJECT_ROOT

from scratchnet import MLP, save
from scratchnet.base.atomic import SUFFIX

CONFIG = {
    "run": "0123456789abcdef",
    "model": {"hidden_sizes": [16], "init_seed": 0, "dropout": 0.0},
    "train": {"lr": 0.05},
    "best_epoch": 1,
    "model_epoch": 1,
    "epochs_run": 1,
}


def export(model, onnx):
    return subprocess.run(
        [sys.executable, "-m", "stages.export", str(model), str(onnx)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def exported(tmp_path):
    """(model path, ONNX path, the model) after a successful export of a small random network."""
    model = MLP([784, 16, 10], seed=3)
    save(model, tmp_path / "model.npz", CONFIG)
    done = export(tmp_path / "model.npz", tmp_path / "model.onnx")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"export: {tmp_path / 'model.onnx'}, the 784-16-10 network of run {CONFIG['run']}")
    return tmp_path / "model.npz", tmp_path / "model.onnx", model


def test_onnx_runtime_gives_the_networks_probabilities_and_digits(exported):
    import onnxruntime

    _, onnx_path, model = exported
    pixels = np.random.default_rng(0).integers(0, 256, (300, 784)).astype(np.float32) / np.float32(255)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    probabilities, digits = session.run(None, {"pixels": pixels})
    expected = model.predict_proba(pixels)
    assert np.abs(probabilities - expected).max() <= 1e-5
    assert digits.dtype == np.int64
    assert np.array_equal(digits, model.predict(pixels))


def test_a_rerun_writes_the_same_bytes(exported, tmp_path):
    model_path, onnx_path, _ = exported
    assert export(model_path, tmp_path / "again.onnx").returncode == 0
    assert (tmp_path / "again.onnx").read_bytes() == onnx_path.read_bytes()


def foreign_files(tmp_path):
    """{name: (path, what the error line must say)} of files that are not a trained digit model."""
    data = tmp_path / "data.npz"
    np.savez_compressed(data, X=np.zeros((2, 784), np.uint8), y=np.zeros(2, np.uint8))
    text = tmp_path / "notes.npz"
    text.write_text("not a model\n", encoding="utf-8")
    other = tmp_path / "other.npz"
    save(MLP([6, 8, 3], seed=0), other, CONFIG)
    unnamed = tmp_path / "unnamed.npz"
    save(MLP([784, 8, 10], seed=0), unnamed, {"best_epoch": 1, "epochs_run": 1})
    return {
        "a data file": (data, "not a scratchnet model (missing config, format_version, sizes)"),
        "a text file": (text, "model"),
        "a network of other sizes": (other, "do not map 784 pixels to 10 digits"),
        "no training run": (unnamed, "names no training run"),
        "no such file": (tmp_path / "missing.npz", "missing.npz"),
    }


FOREIGN = ["a data file", "a text file", "a network of other sizes", "no training run", "no such file"]


@pytest.mark.parametrize("case", FOREIGN)
def test_a_bad_or_foreign_model_gets_one_error_line_and_keeps_the_previous_onnx(exported, tmp_path, case):
    _, onnx_path, _ = exported
    before = onnx_path.read_bytes()
    path, says = foreign_files(tmp_path)[case]
    done = export(path, onnx_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and says in lines[0], done.stderr
    assert onnx_path.read_bytes() == before
    assert not list(tmp_path.glob(f"*{SUFFIX}*"))
