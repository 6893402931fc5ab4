"""Fault injection, one table per entry point: bad input, bad files and machine faults.

Every case runs the real entry point (``python -m stages.NAME ...``) in a copy of a
finished workspace and checks the same four promises: an ``error:`` line that names
the problem, exit code 1, no traceback, and the previous outputs whole with no
temporary left behind.
"""

import gzip
import hashlib
import io
import json
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from pipeline_helpers import CONFIGURATION_FILE, PROJECT_ROOT, run_python, subprocess_env
from ruamel.yaml import YAML
from tiny_workspace import STAGE_ARGS

from scratchnet.base.atomic import SUFFIX
from scratchnet.report.trained import load_trained

# the four stages of the training pipeline, with their paths as dvc.yaml writes them
COMMANDS = {stage: args for stage, args in STAGE_ARGS.items() if stage != "export"}
# Every stage's outputs are all-or-nothing, train's per-epoch record too (DVCLive writes it as
# the epochs happen, for `dvc exp show`; a failed run puts the previous one back).
OUTPUTS = {
    "fetch": ["data/raw"],
    "split": ["data/split"],
    "train": ["data/model", "reports/live"],
    "evaluate": ["reports/metrics.json", "reports/per_class.json", "reports/predictions.csv", "reports/figures"],
}


def run(workspace, stage, limits=None, **env):
    return run_python(workspace, ["-m", f"stages.{stage}", *COMMANDS[stage]], limits, **env)


def set_params(workspace, **changes):
    yaml = YAML()
    path = workspace / "params.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        doc[section][key] = value
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(doc, f)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A workspace where fetch, split, train and evaluate ran on the sample (3 epochs)."""
    workspace = tmp_path_factory.mktemp("finished")
    shutil.copy(CONFIGURATION_FILE, workspace / "params.yaml")
    set_params(workspace, data__source="sample", train__epochs=3, train__lr=0.05, train__patience=100)
    for stage in COMMANDS:
        done = run(workspace, stage)
        assert done.returncode == 0, done.stderr
    return workspace


def digest(workspace, stage):
    out = {}
    for name in OUTPUTS[stage]:
        path = workspace / name
        for f in sorted(path.rglob("*") if path.is_dir() else [path]):
            if f.is_file():
                out[str(f.relative_to(workspace))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


# --- the damage --------------------------------------------------------------------------


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_claiming(shape):
    """An .npz whose X header claims ``shape`` (uint8) but holds 16 bytes."""
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("X.npy", member)
        z.writestr("y.npy", npz_member(np.zeros(5, np.uint8)))
    return buffer.getvalue()


def npz_member(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def gzip_bomb(path):
    """A gzip IDX file of a few hundred KB whose header claims 10**9 images and expands without end."""
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**9, 28, 28))
        zeros = bytes(1 << 20)
        for _ in range(300):
            f.write(zeros)


def idx_source_with_bomb(ws):
    directory = ws / "idx"
    directory.mkdir()
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (directory / f"{name}.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 0)))
    gzip_bomb(directory / "train-images-idx3-ubyte.gz")
    set_params(ws, data__source="idx", data__idx_dir=str(directory))


def alias_bomb(ws):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = (ws / "params.yaml").read_text(encoding="utf-8").replace("  lr: 0.05", "  lr: *a8")
    (ws / "params.yaml").write_text("\n".join(lines) + "\n" + text, encoding="utf-8")


def blocked_output(ws, directory):
    shutil.rmtree(ws / directory, ignore_errors=True)
    (ws / directory).parent.mkdir(parents=True, exist_ok=True)
    (ws / directory).write_text("a file where a directory belongs")


def rewrite_model(ws, **changes):
    path = ws / "data/model/model.npz"
    with np.load(path, allow_pickle=False) as f:
        contents = {k: f[k] for k in f.files}
    contents.update(changes)
    path.write_bytes(npz_bytes(**{k: v for k, v in contents.items() if v is not None}))


def rewrite_config(ws, change):
    with np.load(ws / "data/model/model.npz", allow_pickle=False) as f:
        config = json.loads(str(f["config"]))
    rewrite_model(ws, config=np.array(json.dumps(change(config))))


def model_with_nan(ws):
    with np.load(ws / "data/model/model.npz", allow_pickle=False) as f:
        weights = f["param_0"].copy()
    weights[3, 4] = np.nan
    rewrite_model(ws, param_0=weights)


def model_claiming_huge_layers(ws):
    rewrite_model(ws, sizes=np.array([784, 2**30, 10]))


def model_config(ws, transform):
    """Rewrite the model's JSON configuration text with ``transform(text)``."""
    with np.load(ws / "data/model/model.npz", allow_pickle=False) as f:
        text = str(f["config"])
    rewrite_model(ws, config=np.array(transform(text)))


def damaged_compressed_data(ws):
    """A model file whose deflate stream has bytes flipped, as a damaged DVC cache object would:
    the zip's directory is intact, decompressing a member fails (zlib.error)."""
    path = ws / "data/model/model.npz"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("param_0.npy")
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length  # the local header's own lengths
    for k in range(start, start + 16):  # the first deflate block's header: an invalid stream
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))


def record_of_another_run(ws):
    (ws / "reports/live/run.json").write_text('{"run": "0123456789abcdef"}\n', encoding="utf-8")


def output_file_is_a_directory(ws):
    (ws / "reports/metrics.json").unlink()
    (ws / "reports/metrics.json").mkdir()
    (ws / "reports/metrics.json" / "keep").write_text("a directory where metrics.json belongs")


FSIZE = resource.RLIMIT_FSIZE
CASES = [
    # (stage, what, damage(workspace) -> rlimits or None, the error's words)
    (
        "fetch",
        "params.yaml not UTF-8",
        lambda ws: (ws / "params.yaml").write_bytes(b"data:\n  source: caf\xe9\n"),
        "not UTF-8 text",
    ),
    (
        "fetch",
        "params.yaml a directory",
        lambda ws: ((ws / "params.yaml").unlink(), (ws / "params.yaml").mkdir()),
        "params.yaml: not a regular file",
    ),
    ("fetch", "gzip IDX bomb", idx_source_with_bomb, "more than the 268,435,456 an MNIST file holds"),
    ("fetch", "output under a file", lambda ws: blocked_output(ws, "data/raw"), "not a directory: check the path"),
    ("fetch", "disk full", lambda ws: {FSIZE: 64 * 1024}, "File too large"),
    (
        "split",
        "seed out of range",
        lambda ws: set_params(ws, split__seed=2**32),
        "split.seed = 4294967296 is not allowed: expected an integer in [0, 2**32)",
    ),
    (
        "split",
        "header claims 10**10 rows",
        lambda ws: (ws / "data/raw/mnist.npz").write_bytes(npz_claiming((10**10, 784))),
        "array X claims shape (10000000000, 784)",
    ),
    (
        "split",
        "non-numeric array",
        lambda ws: (ws / "data/raw/mnist.npz").write_bytes(
            npz_bytes(X=np.array([["a"] * 784] * 5), y=np.zeros(5, np.uint8))
        ),
        "must be numeric arrays",
    ),
    (
        "train",
        "huge batch_size",
        lambda ws: set_params(ws, train__batch_size=10**9),
        "train.batch_size = 1000000000 is not allowed: expected an integer in 1..65,536",
    ),
    (
        "train",
        "huge hidden_sizes",
        lambda ws: set_params(ws, model__hidden_sizes=[100_000, 100_000]),
        "at most 50,000,000 weights",
    ),
    (
        "train",
        "lr zero in float32",
        lambda ws: set_params(ws, train__lr=1e-50),
        "train.lr = 1e-50 is not allowed: expected a number > 0, also in float32",
    ),
    (
        "train",
        "lambda makes it diverge",
        lambda ws: set_params(ws, train__lr=0.1, **{"train__lambda": 30.0}),
        "train.lambda is 30.0: lr x lambda = 3 >= 1 makes the weight decay overshoot",
    ),
    (
        "train",
        "out of memory",
        lambda ws: (set_params(ws, model__hidden_sizes=[6500, 6500]), {resource.RLIMIT_AS: 500 * 2**20})[1],
        "out of memory (Unable to allocate",
    ),
    ("train", "disk full", lambda ws: {FSIZE: 64 * 1024}, "File too large"),
    (
        "train",
        "a git repository without commits",
        lambda ws: subprocess.run(["git", "init", "-q", str(ws)], check=True),
        "DVCLive cannot start in this git repository (Empty git repo): commit first",
    ),
    ("evaluate", "NaN weights", model_with_nan, "parameter 0 holds NaN or infinite values"),
    (
        "evaluate",
        "config lacks a field",
        lambda ws: rewrite_model(ws, config=np.array('{"train": {}}')),
        "its configuration lacks best_epoch and epochs_run",
    ),
    (
        "evaluate",
        "config's seed negative",
        lambda ws: rewrite_config(ws, lambda c: {**c, "model": {**c["model"], "init_seed": -1}}),
        "its configuration lacks model.init_seed as a whole number >= 0",
    ),
    (
        "evaluate",
        "1 KB model claiming huge layers",
        model_claiming_huge_layers,
        "but sizes [784, 1073741824, 10] need floats of shape (784, 1073741824)",
    ),
    (
        "evaluate",
        "history not numbers",
        lambda ws: (ws / "reports/live/plots/metrics/train/loss.tsv").write_text("step\tloss\n1\tabc\n"),
        "line 2: step '1', loss 'abc' is not a number",
    ),
    (
        "evaluate",
        "history epochs disagree",
        lambda ws: (ws / "reports/live/plots/metrics/val/loss.tsv").write_text("step\tloss\n1\t0.5\n"),
        "val/loss.tsv has epochs 1..1 (1), train/loss.tsv 1..3 (3)",
    ),
    ("evaluate", "disk full half way through the figures", lambda ws: {FSIZE: 40 * 1024}, "File too large"),
    ("train", "params alias bomb", alias_bomb, "train.lr = [[[...], "),
    (
        "train",
        "a number beyond float range",
        lambda ws: set_params(ws, train__lr=10**400),
        "train.lr = 100000000000000000...0000000000000000000 is not allowed",
    ),
    (
        "train",
        "a sigma that passes its bounds and divides by zero later",
        lambda ws: set_params(ws, train__elastic_alpha=34, train__elastic_sigma=1e-200),
        "train.elastic_sigma = 1e-200 is not allowed: it is too small for a Gaussian filter",
    ),
    (
        "evaluate",
        "config holds NaN",
        lambda ws: model_config(ws, lambda t: re.sub(r'"best_epoch": \d+', '"best_epoch": NaN', t)),
        "its configuration is not valid JSON, strictly read (NaN is not a JSON value)",
    ),
    (
        "evaluate",
        "config holds 1e400",
        lambda ws: model_config(ws, lambda t: re.sub(r'"best_epoch": \d+', '"best_epoch": 1e400', t)),
        "the number 1e400 is beyond what a float holds",
    ),
    (
        "evaluate",
        "config holds an integer of 400 digits",
        lambda ws: model_config(ws, lambda t: re.sub(r'"best_epoch": \d+', '"best_epoch": ' + "9" * 400, t)),
        "is beyond 64 bits",
    ),
    (
        "evaluate",
        "config nested 100,000 deep",
        lambda ws: model_config(ws, lambda t: "[" * 100_000 + "]" * 100_000),
        "nested deeper than 64 levels",
    ),
    (
        "evaluate",
        "infinite layer sizes",
        lambda ws: rewrite_model(ws, sizes=np.array([784.0, np.inf, 10.0])),
        "format_version and sizes must be integers",
    ),
    (
        "evaluate",
        "damaged compressed data (a bad DVC cache object)",
        damaged_compressed_data,  # zlib.error inside NumPy's reader
        "not a readable .npz model file (corrupt compressed data: Error -3 while decompressing data",
    ),
    ("evaluate", "a record of another run", record_of_another_run, "they come from different runs"),
    ("evaluate", "out of file descriptors", lambda ws: {resource.RLIMIT_NOFILE: 8}, "Too many open files"),
    (
        "evaluate",
        "an output path that is a directory",
        output_file_is_a_directory,
        "reports/metrics.json: is a directory where an output file belongs",
    ),
]


@pytest.mark.parametrize("stage, what, damage, words", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_fault(finished, tmp_path, stage, what, damage, words):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    limits = damage(workspace)
    limits = limits if isinstance(limits, dict) else None
    before = digest(workspace, stage)
    done = run(workspace, stage, limits)
    assert done.returncode == 1, done.stderr
    # The error is the last thing said, once (train logs its epochs before it).
    error = done.stderr[done.stderr.index("error: ") :] if "error: " in done.stderr else ""
    assert error and error.count("error: ") == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in error, done.stderr
    assert len(error) < 3000, len(error)
    assert digest(workspace, stage) == before  # the previous outputs, whole
    assert not list(workspace.rglob(f"*{SUFFIX}*")), "a temporary was left behind"


def test_a_killed_runs_temporary_is_removed_by_the_next_run(finished, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    stale = workspace / "data/model" / f".model.npz.k1ll3d{SUFFIX}"
    stale.write_bytes(b"half a model, left by SIGKILL")
    assert run(workspace, "train").returncode == 0
    assert not stale.exists()


# --- faults of the process and its streams ------------------------------------------------------


def start_train(workspace, epochs):
    """The train stage started for ``epochs`` epochs, once it has logged its first one."""
    set_params(workspace, train__epochs=epochs, train__patience=epochs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stages.train", *COMMANDS["train"]],
        cwd=workspace,
        env={**subprocess_env(workspace / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("epoch    1 "):
            return proc
    raise AssertionError("training never logged its first epoch")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_hangup_stops_train_as_sigterm_does(finished, tmp_path, signum):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    before = digest(workspace, "train")
    proc = start_train(workspace, 2000)
    proc.send_signal(signum)
    rest = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130 and "interrupted" in rest and "Traceback" not in rest, rest
    assert digest(workspace, "train") == before  # the model and the record as they were
    assert not list(workspace.rglob(f"*{SUFFIX}*"))


@pytest.mark.slow
def test_params_yaml_changed_while_train_runs(finished, tmp_path):
    """`git stash`, an editor, or a refused second `dvc exp run -S` while training: the run finishes
    with the params it read, params.yaml holds them again (so DVC records what the model was made
    from), and the changed file waits beside it as params.yaml.changed."""
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    proc = start_train(workspace, 40)
    read = (workspace / "params.yaml").read_text(encoding="utf-8")
    set_params(workspace, train__lr=0.01)
    changed = (workspace / "params.yaml").read_text(encoding="utf-8")
    rest = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0 and "error:" not in rest, rest
    assert "note: params.yaml changed while this stage ran (section train)" in rest, rest
    assert (workspace / "params.yaml").read_text(encoding="utf-8") == read
    assert (workspace / "params.yaml.changed").read_text(encoding="utf-8") == changed
    _, config = load_trained(str(workspace / "data" / "model" / "model.npz"))
    assert config["train"]["lr"] == YAML(typ="safe").load(read)["train"]["lr"] != 0.01
    assert not list(workspace.rglob(f"*{SUFFIX}*"))


def test_a_bad_mplbackend_does_not_stop_evaluate(finished, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    done = run(workspace, "evaluate", MPLBACKEND="no-such-backend")
    assert done.returncode == 0, done.stderr
    assert digest(workspace, "evaluate") == digest(finished, "evaluate")  # the same outputs


@pytest.mark.parametrize("stdout", ["closed", "full"])
def test_a_closed_or_full_stdout_is_one_error_and_keeps_the_outputs(finished, tmp_path, stdout):
    workspace = tmp_path / "ws"
    shutil.copytree(finished, workspace)
    set_params(workspace, split__seed=7)  # a run that would change the outputs
    before = digest(workspace, "split")
    target = "exec 1>&-" if stdout == "closed" else "exec 1>/dev/full"
    command = " ".join([target, ";", sys.executable, "-m", "stages.split", *COMMANDS["split"]])
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=workspace,
        env={**subprocess_env(workspace / ".scratch"), "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    expected = "standard output is closed" if stdout == "closed" else "No space left on device"
    assert done.stderr.count("error: ") == 1 and f"error: standard output: {expected}" in done.stderr
    assert "Traceback" not in done.stderr
    assert digest(workspace, "split") == before
    assert not list(workspace.rglob(f"*{SUFFIX}*"))
