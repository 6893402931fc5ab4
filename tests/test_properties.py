"""Property-based tests (Hypothesis): the cases nobody listed, found by a generator.

Every reader and entry point is given generated input, and each property is the
promise the code makes (base/boundary.py, base/atomic.py, the readers' docstrings):

- params.yaml: any value at any key, unknown keys and sections, whole YAML documents:
  typed sections or a ParamsError naming the key (the file), never anything else; a stage
  run on it exits 0, or 1 with one ``error:`` line, its previous outputs whole.
- model and data .npz files, mutated (arrays, .npy headers, the JSON configuration, zip
  members, bytes): the readers return a valid model or data, or raise ModelFileError /
  DataError; evaluate, export, predict and split run on them keep the boundary's promise.
- pictures and .npy arrays, mutated: `scratchnet predict` prints one line per prediction
  and one ``error:`` line per failure, exit 0 or 1, strict JSON with --json.
- command lines of predict and the tools: exit 0, 1 (one ``error:`` line) or 2 (usage),
  never a traceback, a previous report replaced only by a whole one.

Entry points run in this process (entry_runs.run_entry), on a workspace of tiny
synthetic data. The number of examples comes from the Hypothesis profile (conftest.py):
the default profile keeps the file to about a minute; HYPOTHESIS_PROFILE=slow (make
test-slow) runs many more, and the tools whose every run takes seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from command_lines import PREDICT_OPTIONS, SAFE_TEXT, WORKSPACE_KINDS, tool_argv
from entry_runs import (
    check_stage_contract,
    digest,
    environment,
    patched,
    raise_escaped,
    refuse_constant,
    run_entry,
    sample_loaded_once,
    strict_json_file,
    temporaries,
    whole_tree,
    written_path,
)
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from image_files import RANDOM_FILES, npy_files, pictures
from npz_mutations import (
    DATA_BYTES,
    MODEL_BYTES,
    Change,
    Generated,
    changed_file,
    changed_npz,
    mutated_npz,
    npy_with_header,
    param_shape,
    short_text,
)
from tiny_workspace import (
    STAGE_ARGS,
    STAGE_OUTPUTS,
    STAGE_SECTIONS,
    copy_workspace,
    make_finished_workspace,
    synthetic_digits,
)
from yaml_documents import MUTATIONS, TINY_TEXT, YAML_DOCUMENTS, mutate_raw

import stages.evaluate
import stages.export
import stages.fetch
import stages.split
import stages.train
from scratchnet import params
from scratchnet.base.boundary import guarded
from scratchnet.base.constraints import Invalid
from scratchnet.base.errors import DataError, ModelFileError, ParamsError
from scratchnet.base.formats import load_npz, scale_pixels
from scratchnet.config import schema, yamlfile
from scratchnet.nn import checkpoint
from scratchnet.predict import cli
from scratchnet.report.trained import load_trained

SLOW = os.environ.get("HYPOTHESIS_PROFILE") == "slow"
# Under the slow profile every property here runs with `make test-slow` (pytest -m slow).
pytestmark = [pytest.mark.slow] if SLOW else []
STAGE_MODULES = {
    "fetch": stages.fetch,
    "split": stages.split,
    "train": stages.train,
    "evaluate": stages.evaluate,
    "export": stages.export,
}


def examples(weight):
    """This test's number of examples: ``weight`` times the profile's max_examples (conftest.py)."""
    return max(1, round(settings.default.max_examples * weight))


# --- values as YAML or Python gives them ----------------------------------------------------


def names_expected(raw):
    """What a ParamsError for ``raw`` must name: each refused key (by the constraint its section
    declares), unknown key and section, missing key and section."""
    if not isinstance(raw, dict):
        return []
    names = [f"missing section '{s}'" for s in schema.SECTION_NAMES if s not in raw]
    if any(s not in schema.SECTION_NAMES for s in raw):
        names.append("unknown section")
    for name, section_class in params.SECTIONS.items():
        values = raw.get(name)
        if not isinstance(values, dict):
            continue
        declared = schema.keys(section_class)
        for key, value in values.items():
            if isinstance(key, str) and key in declared:
                try:
                    declared[key].convert(value)
                except Invalid:
                    names.append(f"{name}.{key}")
            elif isinstance(key, str) and len(f"{name}.{key}") <= 80:
                names.append(f"unknown key {name}.{key}")
        names += [f"missing key {name}.{k}" for k in declared if k not in values]
    return names


# Counterexamples found so far are kept as explicit examples: each run checks them first.
@example([("set", ("train", "lr"), 10**4300)])  # ValueError: repr of an int of more than 4,300 digits
@example([("unknown section", 10**4300, 1)])
@settings(max_examples=examples(8))
@given(st.lists(MUTATIONS, min_size=1, max_size=3))
def test_params_validate_gives_typed_sections_or_one_error_naming_the_key(mutations):
    raw = mutate_raw(mutations)
    try:
        p = params.validate(raw)
    except ParamsError as e:
        assert len(e.args) == 1 and isinstance(e.args[0], str)
        message = str(e)
        assert message.startswith("params.yaml"), message
        for name in names_expected(raw):
            assert name in message, (name, message)
    else:
        assert not names_expected(raw), names_expected(raw)
        for name, section_class in params.SECTIONS.items():
            assert isinstance(getattr(p, name), section_class)


# --- params.yaml as text ----------------------------------------------------------------------


def yaml_text(text):
    return Generated(text.encode(), [short_text(text)])


@example(yaml_text("!!float x"))  # ValueError from ruamel's constructors
@example(yaml_text("!!int 0x"))
@example(yaml_text("!!int ''"))  # IndexError
@example(yaml_text("!!bool x"))  # KeyError
@example(yaml_text("!!timestamp 2001-13-45"))  # ValueError
@example(yaml_text("!!omap [a: 1, a: 2]"))  # AssertionError
@example(yaml_text("1" + "0" * 4300))  # ValueError: an int of more than 4,300 digits
@settings(max_examples=examples(3))
@given(YAML_DOCUMENTS)
def test_params_yaml_documents_load_or_give_one_error_naming_the_file(document):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "params.yaml")
        with open(path, "wb") as f:
            f.write(document.data)
        try:
            p = params.load(path)
        except ParamsError as e:
            assert len(e.args) == 1 and str(e).startswith(path), str(e)
        else:
            assert isinstance(p, params.Params)


# --- the stages on generated params.yaml ----------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return make_finished_workspace(tmp_path_factory.mktemp("finished"))


def too_costly(stage, path):
    """Why running ``stage`` on this params file would cost more than an example may (None if not):
    the network (openml), or more than a few epochs or weights. The validation itself is the
    other properties' subject: any failure here leaves the decision to the stage."""
    try:
        sections = schema.validate(
            yamlfile.read(path), *(params.SECTIONS[s] for s in STAGE_SECTIONS[stage]), where=path
        )
    except Exception:  # the stage meets the same failure, and is judged by it
        return None
    if stage == "fetch" and sections[0].source == "openml":
        return "data.source openml needs the network"
    if stage == "train":
        model, train = sections
        layers = [784, *model.hidden_sizes, 10]
        if train.fit.epochs > 3 or sum(a * b for a, b in zip(layers[:-1], layers[1:])) > 200_000:
            return "more than 3 epochs or 200,000 weights"
    return None


def run_stage(workspace, stage):
    before = digest(workspace, STAGE_OUTPUTS[stage])
    done = run_entry(lambda: guarded(STAGE_MODULES[stage].main), workspace, [f"stages/{stage}.py", *STAGE_ARGS[stage]])
    check_stage_contract(done, before, digest(workspace, STAGE_OUTPUTS[stage]), temporaries(workspace))
    return done


@example("split", yaml_text(TINY_TEXT.replace("  seed: 42", "  seed: !!int x")))
@settings(max_examples=examples(0.8))
@given(st.sampled_from(["split", "train", "fetch", "evaluate"]), YAML_DOCUMENTS)
def test_a_stage_on_generated_params_exits_0_or_1_with_its_outputs_whole(finished, stage, document):
    with tempfile.TemporaryDirectory() as directory:
        workspace = copy_workspace(finished, Path(directory) / "ws")
        (workspace / "params.yaml").write_bytes(document.data)
        reason = too_costly(stage, str(workspace / "params.yaml"))
        if reason:
            event(f"not run: {reason}")
            return
        with sample_loaded_once():
            done = run_stage(workspace, stage)
        event(f"{stage}: exit {done.code}")


# --- .npz files, mutated ------------------------------------------------------------------------


def check_model(model, config, trained):
    """What a model a reader returns must be: finite float weights of the shapes its sizes say, and a
    configuration of strict JSON (as checkpoint.save writes it); a trained one maps 784 pixels to 10
    digits and records its epochs as whole numbers."""
    assert len(model.params) == 2 * (len(model.sizes) - 1)
    for p in model.params:
        assert np.isfinite(p).all(), "a model with non-finite weights was returned"
    json.dumps(config, allow_nan=False)
    if trained:
        assert (model.sizes[0], model.sizes[-1]) == (784, 10)
        assert isinstance(config, dict)
        for key in ("best_epoch", "epochs_run"):
            assert type(config[key]) is int and config[key] >= 0, (key, config[key])
        seed = config["model"]["init_seed"]  # evaluate redraws the initial weights from it
        assert type(seed) is int and seed >= 0, seed


@example(changed_npz(MODEL_BYTES, headers={"format_version.npy": ")"}))  # tokenize.TokenError
@example(changed_npz(MODEL_BYTES, compression={"param_0.npy": zipfile.ZIP_LZMA}, flip_in="param_0.npy"))  # LZMAError
@example(changed_npz(MODEL_BYTES, directory_offset=4096))  # OSError EINVAL, taken for the machine's
@example(changed_npz(MODEL_BYTES, arrays={"param_0.npy": np.full(param_shape(0), 1e300)}))  # float32 inf weights
# true taken for a whole number of epochs (bool is an int in Python)
@example(
    changed_npz(MODEL_BYTES, arrays={"config.npy": np.array('{"best_epoch": true, "epochs_run": true, "run": "r"}')})
)
@settings(max_examples=examples(6))
@given(mutated_npz(MODEL_BYTES, "model"))
def test_model_readers_return_a_valid_model_or_raise_model_file_error(data):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.npz")
        with open(path, "wb") as f:
            f.write(data.data)
        for read, trained in (
            (lambda: checkpoint.load(path), False),
            (lambda: checkpoint.load(path, inputs=784, outputs=10, names=("pixels", "digits")), False),
            (lambda: load_trained(path), True),
        ):
            try:
                model, config = read()
            except ModelFileError as e:
                assert str(e).startswith(path), str(e)
            else:
                check_model(model, config, trained)


@example(changed_npz(DATA_BYTES, headers={"X.npy": ")"}))  # tokenize.TokenError
@example(changed_npz(DATA_BYTES, directory_offset=4096))  # OSError EINVAL, taken for the machine's
@settings(max_examples=examples(6))
@given(mutated_npz(DATA_BYTES, "data"))
def test_data_reader_returns_mnist_shaped_data_or_raises_data_error(data):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "data.npz")
        with open(path, "wb") as f:
            f.write(data.data)
        try:
            X, y = load_npz(path)
        except DataError as e:
            assert str(e).startswith(path), str(e)
        else:
            assert X.dtype == np.uint8 and X.ndim == 2 and X.shape[1] == 784 and len(X) >= 1
            assert y.dtype == np.uint8 and y.shape == (len(X),) and int(y.max()) <= 9


OVERFLOWING = {
    "param_0.npy": np.full(param_shape(0), 3e38, np.float32),
    "param_2.npy": np.full(param_shape(2), -3e38, np.float32),
}


@example(Change("finite float32 weights whose logits overflow", lambda b: changed_npz(b, arrays=OVERFLOWING)))
@example(Change("sizes.npy header ')'", lambda b: changed_npz(b, headers={"sizes.npy": ")"})))  # TokenError
@settings(max_examples=examples(0.3))
@given(st.data())
def test_evaluate_on_a_mutated_model_exits_0_or_1_with_its_outputs_whole(finished, data):
    # the train stage's model, naming its run
    with stage_on_a_mutated_file(finished, data, "data/model/model.npz", "model", "evaluate") as (_, done):
        event(f"exit {done.code}")


@contextlib.contextmanager
def stage_on_a_mutated_file(finished, data, path, kind, stage):
    """(workspace, run) of ``stage`` in a copy of the finished workspace whose ``path`` (a ``kind``
    .npz file) was mutated; the workspace is removed afterwards."""
    mutated = changed_file(data, (finished / path).read_bytes(), kind)
    with tempfile.TemporaryDirectory() as directory:
        workspace = copy_workspace(finished, Path(directory) / "ws")
        (workspace / path).write_bytes(mutated.data)
        yield workspace, run_stage(workspace, stage)


@example(Change("finite float32 weights whose logits overflow", lambda b: changed_npz(b, arrays=OVERFLOWING)))
@example(Change("a configuration without its run", lambda b: changed_npz(b, arrays={"config.npy": np.array("{}")})))
@settings(max_examples=examples(0.3))
@given(st.data())
def test_export_on_a_mutated_model_exits_0_or_1_with_its_outputs_whole(finished, data):
    with stage_on_a_mutated_file(finished, data, "data/model/model.npz", "model", "export") as (workspace, done):
        if done.code == 0:
            check_onnx_holds_the_model(workspace)
        else:
            assert done.error_lines()[0].startswith("error: data/model/model.npz: "), done.describe()
        event(f"exit {done.code}")


def check_onnx_holds_the_model(workspace):
    """What export wrote holds the weights it read, bit for bit, and ONNX Runtime runs it (the
    agreement of the outputs on real digits is test_pipeline's: a mutated model's logits can be huge)."""
    import onnx
    import onnxruntime

    model, _ = checkpoint.load(workspace / "data/model/model.npz")
    path = str(workspace / "data/model/model.onnx")
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    assert len(stored) == len(model.params)
    for i, p in enumerate(model.params):
        assert np.array_equal(stored[f"{'Wb'[i % 2]}{i // 2}"], p), i
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    X = scale_pixels(synthetic_digits(1)[0])
    probabilities, digits = session.run(None, {"pixels": X})
    assert probabilities.shape == (len(X), 10) and digits.shape == (len(X),)


@example(Change("X.npy header ')'", lambda b: changed_npz(b, headers={"X.npy": ")"})))  # tokenize.TokenError
@example(Change("y.npy in LZMA, a bit flipped", lambda b: changed_npz(b, compression={"y.npy": 14}, flip_in="y.npy")))
@settings(max_examples=examples(0.6))
@given(st.data())
def test_split_on_mutated_raw_data_exits_0_or_1_with_its_outputs_whole(finished, data):
    with stage_on_a_mutated_file(finished, data, "data/raw/mnist.npz", "data", "split") as (_, done):
        event(f"exit {done.code}")


# --- scratchnet predict -----------------------------------------------------------------------

LOW_CONFIDENCE = cli.LOW_CONFIDENCE
TEXT_LINE = re.compile(
    r"^(.*): (\d) \(p=(\d\.\d{3})\)  (\d:\d\.\d{3} ){9}\d:\d\.\d{3}(  \[.*\])?(  low confidence \(p < [\d.]+\): .*)?$"
)


def check_predict_output(done, model, inputs, as_json, must_predict=()):
    """`predict`'s promise: a line per prediction on stdout (strict JSON with --json), an ``error:``
    line per failure on stderr naming its input, exit 1 exactly when there was one, each input
    accounted for, ``must_predict`` (valid inputs) predicted; or, if the model cannot be loaded,
    one ``error:`` line naming it and nothing else."""
    raise_escaped(done)
    assert "Traceback (most recent call last)" not in done.err, done.describe()
    assert done.code in (0, 1), done.describe()
    err_lines = done.err.splitlines()
    assert all(line.startswith("error: ") for line in err_lines), done.describe()
    assert (done.code == 1) == bool(err_lines), done.describe()
    if err_lines and err_lines[0].startswith(f"error: {model}"):
        assert len(err_lines) == 1 and done.out == "", done.describe()
        return
    labels = []
    for line in done.out.splitlines():
        if as_json:
            result = json.loads(line, parse_constant=refuse_constant)
            assert {"input", "digit", "probabilities"} <= set(result) <= {"input", "digit", "probabilities", "note"}
            p = result["probabilities"]
            assert ("note" in result) == (max(p) < LOW_CONFIDENCE) or abs(max(p) - LOW_CONFIDENCE) <= 1e-6, line
            assert len(p) == 10 and all(isinstance(q, float) and 0 <= q <= 1 for q in p), line
            assert abs(sum(p) - 1) < 1e-4 and p[result["digit"]] == max(p), line
            labels.append(result["input"])
        else:
            m = TEXT_LINE.match(line)
            assert m, f"not a prediction line: {line!r}\n{done.describe()}"
            top = float(m.group(3))  # rounded to 3 places: the note's side of the threshold is known away from it
            assert bool(m.group(6)) == (top < LOW_CONFIDENCE) or abs(top - LOW_CONFIDENCE) <= 5e-4, line
            labels.append(m.group(1))
    for label in labels:
        assert any(label == i or label.startswith(f"{i}[") for i in inputs), (label, inputs)
    for i in inputs:
        said = any(label == i or label.startswith(f"{i}[") for label in labels) or any(
            line.startswith(f"error: {i}") for line in err_lines
        )
        assert said, f"nothing said about {i}\n{done.describe()}"
        if not i.lower().endswith(".npy"):  # a picture is one digit: one line, a prediction or an error
            lines = labels.count(i) + sum(line.startswith(f"error: {i}: ") for line in err_lines)
            assert lines == 1, f"{lines} lines about {i}\n{done.describe()}"
    for i in must_predict:
        assert i in labels, f"the valid input {i} was not predicted\n{done.describe()}"


@pytest.fixture(scope="module")
def predict_files(finished, tmp_path_factory):
    """The finished workspace's model, and one valid digit as .npy."""
    directory = tmp_path_factory.mktemp("predict")
    X, _ = synthetic_digits(1, seed=1)
    np.save(directory / "good.npy", X[:1])
    return finished / "data/model/model.npz", directory / "good.npy"


@example(changed_npz(MODEL_BYTES, headers={"sizes.npy": ")"}), False)  # tokenize.TokenError
@settings(max_examples=examples(3))
@given(mutated_npz(MODEL_BYTES, "model", at_least_one=True), st.booleans())
def test_predict_with_a_mutated_model_exits_0_or_1_with_one_line(predict_files, data, as_json):
    _, good = predict_files
    with tempfile.TemporaryDirectory() as directory:
        model = os.path.join(directory, "model.npz")
        with open(model, "wb") as f:
            f.write(data.data)
        done = run_entry(
            lambda: cli.main(["--model", model, *(["--json"] if as_json else []), str(good)]),
            directory,
            ["scratchnet", "predict"],
        )
        check_predict_output(done, model, [str(good)], as_json)
        assert len(done.out.splitlines()) + len(done.err.splitlines()) == 1, done.describe()


@example([Generated(b"II*\x00\x00\x00\x00\x01", ["8 bytes of TIFF"], "random.png")], False)  # warning lines
@example([Generated(npy_with_header(")", b""), ["header ')'"], "array.npy")], False)  # tokenize.TokenError
@settings(max_examples=examples(5))
@given(st.lists(st.one_of(pictures(), npy_files(), RANDOM_FILES), min_size=1, max_size=3), st.booleans())
def test_predict_says_one_line_per_input_row_and_exits_0_or_1(predict_files, files, as_json):
    model, good = predict_files
    with tempfile.TemporaryDirectory() as directory:
        inputs = [str(good)]
        for i, generated in enumerate(files):
            path = os.path.join(directory, f"{i}-{generated.name}")
            with open(path, "wb") as f:
                f.write(generated.data)
            inputs.append(path)
        done = run_entry(
            lambda: cli.main(["--model", str(model), *(["--json"] if as_json else []), *inputs]),
            directory,
            ["scratchnet", "predict"],
        )
        check_predict_output(done, model, inputs, as_json, must_predict=[str(good)])


# --- command lines ----------------------------------------------------------------------------


# Paths a command line may name: valid and broken models and inputs, a directory, missing paths, odd names
# (a newline, bytes that are not UTF-8, a leading dash, too long). No NUL: no process's argument holds one.
ARGV_NAMES = [
    "model.npz", "good.npy", "junk.npz", "empty.png", "folder", "blank.npy", "new\nline.npy", "-dash.npy",
    "sp ace é.npy", os.fsdecode(b"latin1-\xe9.npy"), "missing.npy", "missing/deeper.png",
    "x" * 300 + ".npy", "", ".", "./good.npy",
]  # fmt: skip


@pytest.fixture(scope="module")
def argv_files(predict_files, tmp_path_factory):
    """A directory holding the files ARGV_NAMES names (those that exist)."""
    model, good = predict_files
    d = tmp_path_factory.mktemp("argv")
    shutil.copy(model, d / "model.npz")
    shutil.copy(good, d / "good.npy")
    (d / "junk.npz").write_bytes(b"junk")
    (d / "empty.png").write_bytes(b"")
    (d / "folder").mkdir()
    np.save(d / "blank.npy", np.zeros(784, np.uint8))
    for odd in ("new\nline.npy", "-dash.npy", "sp ace é.npy"):
        shutil.copy(good, d / odd)
    shutil.copy(good, os.path.join(os.fsencode(d), b"latin1-\xe9.npy"))
    return d


@example(["--model", "new\nline.npy", "good.npy"])  # an error line cut in two by the file's name
@example(["--model", "model.npz", "new\nline.npy"])  # a prediction line cut in two
@settings(max_examples=examples(3))
@given(st.lists(st.one_of(st.sampled_from(PREDICT_OPTIONS), st.sampled_from(ARGV_NAMES), SAFE_TEXT), max_size=6))
def test_predict_command_lines_exit_0_1_or_2_never_a_traceback(argv_files, argv):
    done = run_entry(lambda: cli.main(argv), argv_files, ["scratchnet", "predict"])
    raise_escaped(done)
    assert "Traceback (most recent call last)" not in done.err, done.describe()
    assert done.code in (0, 1, 2), done.describe()
    if done.code == 2:
        assert done.err.startswith("usage:"), done.describe()
        return
    if done.out.startswith("usage:"):  # -h prints the help and exits 0
        assert done.code == 0, done.describe()
        return
    for line in done.out.splitlines():  # a prediction per line, as text or JSON
        assert TEXT_LINE.match(line) or line.startswith("{"), f"not a prediction line: {line!r}\n{done.describe()}"
    lines = done.err.splitlines()
    if done.code == 0:
        assert lines == [] and done.out, done.describe()
    else:
        assert lines and all(line.startswith("error: ") for line in lines), done.describe()


# --- the tools' command lines -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tools_workspace(tmp_path_factory):
    """A directory a tool runs in as it runs at the project's root: params.yaml (tiny), `stages` beside it,
    IDX files of 200 digits, broken IDX files, previous reports; the paths a command line may name."""
    from pipeline_helpers import PROJECT_ROOT, write_mnist_idx

    d = tmp_path_factory.mktemp("tools")
    (d / "params.yaml").write_text(TINY_TEXT, encoding="utf-8")
    (d / "stages").symlink_to(PROJECT_ROOT / "stages")
    X, y = synthetic_digits(20, seed=2)
    order = np.random.default_rng(0).permutation(len(y))
    write_mnist_idx(d / "idx", X[order], y[order], n_train=160)
    write_mnist_idx(d / "badidx", X[order], y[order], n_train=160)
    images = d / "badidx" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100])
    (d / "emptydir").mkdir()
    (d / "afile").write_text("a file")
    (d / "reports").mkdir()
    for name in ("compare.json", "bench.json", "sweep.md"):
        (d / "reports" / name).write_text(f"the previous {name}, whole\n")
    return d


def check_tool_contract(done, before, after, report, check_report):
    """A tool's promise: exit 0, 1 with one ``error:`` line, or 2 with argparse's usage; no traceback;
    after a failure every file as it was; after success the report it names, whole."""
    raise_escaped(done)
    assert "Traceback (most recent call last)" not in done.err, done.describe()
    assert done.code in (0, 1, 2), done.describe()
    errors = done.error_lines()
    if done.code == 2:
        assert done.err.startswith("usage:"), done.describe()
    elif done.code == 1:
        assert len(errors) == 1, done.describe()
    else:
        assert errors == [], done.describe()
        if report is not None:
            check_report(report)
    if done.code != 0:
        assert after == before, f"files changed after a failure\n{done.describe()}"


@settings(max_examples=examples(0.3))
@given(tool_argv(["--epochs", "--idx-dir", "--out", "-h", "--epoch", "--idx", "--ou", "--epochs=0", "--", "-x"]))
def test_compare_command_lines_exit_0_1_or_2_and_keep_a_previous_report_whole(tools_workspace, argv):
    from tools.bench import compare

    def one_epoch(*args):  # the same comparison, one epoch at most: an example takes a second, not minutes
        return real_compare(*args[:-1], min(args[-1], 1))

    real_compare = compare.compare
    with tempfile.TemporaryDirectory() as directory:
        workspace = copy_workspace(tools_workspace, Path(directory) / "ws")
        before = whole_tree(workspace)
        with sample_loaded_once(), patched(compare, "compare", one_epoch):
            done = run_entry(lambda: guarded(compare.main), workspace, ["tools/bench/compare.py", *argv])
        report = written_path(done, r"written to (.*)\n?$")

        def check_report(path):
            results = strict_json_file(workspace / path)
            assert isinstance(results, list) and results and {"epoch", "prediction_agreement"} <= set(results[0])

        check_tool_contract(done, before, whole_tree(workspace), report, check_report)
        event(f"exit {done.code}")


@settings(max_examples=examples(0.3))
@given(
    tool_argv(
        ["--batch", "--optimizers", "--steps", "--top", "--out", "-h", "--step", "--"],
        extra=["sgd", "adam,sgd", "adam,", ",", "64", "30", "31", "65537", "100001"],
    )
)
def test_profile_command_lines_exit_0_1_or_2_and_write_their_report_whole(tools_workspace, argv):
    from tools.bench import step_profile

    def small(name, batch, steps):  # the same profile on 8 rows, one step: an example takes a second
        return real_profile(name, min(batch, 8), 1, rounds=1)

    real_profile = step_profile.profile
    with tempfile.TemporaryDirectory() as directory:
        workspace = copy_workspace(tools_workspace, Path(directory) / "ws")
        before = whole_tree(workspace)
        with patched(step_profile, "profile", small):
            done = run_entry(lambda: guarded(step_profile.main), workspace, ["tools/bench/step_profile.py", *argv])
        report = written_path(done, r"written to (.*)\n?$")

        def check_report(path):
            profiles = strict_json_file(workspace / path)["profiles"]
            assert profiles and all(p["lines"] and p["untimed_us"] > 0 for p in profiles)

        check_tool_contract(done, before, whole_tree(workspace), report, check_report)
        event(f"exit {done.code}")


@pytest.fixture(scope="module")
def dvc_repository(tools_workspace, finished, tmp_path_factory):
    """The tools' directory as a git and DVC repository with one commit: the project's dvc.yaml and the
    finished workspace's per-epoch record and predictions, so that `dvc plots` has something to draw."""
    import subprocess

    from pipeline_helpers import PROJECT_ROOT, subprocess_env

    d = tmp_path_factory.mktemp("repo") / "repo"
    shutil.copytree(tools_workspace, d, symlinks=True)
    shutil.copy(PROJECT_ROOT / "dvc.yaml", d / "dvc.yaml")
    shutil.copytree(finished / "reports" / "live", d / "reports" / "live")
    shutil.copy(finished / "reports" / "predictions.csv", d / "reports" / "predictions.csv")
    env = subprocess_env(d.parent / "scratch")
    for command in (["git", "init", "-q"], [str(Path(os.sys.executable).parent / "dvc"), "init", "-q"],
                    ["git", "add", "-A"], ["git", "commit", "-q", "-m", "tools"]):  # fmt: skip
        subprocess.run(command, cwd=d, env=env, check=True, capture_output=True)
    return Repository(d, env)


class Repository:
    """A repository and the environment its git and dvc run in (printed as its path alone)."""

    def __init__(self, path, env):
        self.path, self.env = path, env

    def __repr__(self):
        return f"Repository({str(self.path)!r})"


@pytest.mark.slow
@settings(max_examples=examples(0.1))
@given(WORKSPACE_KINDS, tool_argv(["--out", "-h", "--ou", "--out=", "--", "-x"], integers=False))
def test_experiments_command_lines_exit_0_1_or_2_never_a_traceback(tools_workspace, dvc_repository, kind, argv):
    from tools import experiments

    repository, env = dvc_repository.path, dvc_repository.env
    with tempfile.TemporaryDirectory() as directory:
        source = repository if kind == "a DVC repository" else tools_workspace
        workspace = copy_workspace(source, Path(directory) / "ws")
        before = whole_tree(workspace)
        with environment(env):
            done = run_entry(lambda: guarded(experiments.main), workspace, ["tools/experiments.py", *argv])
        check_tool_contract(done, before, whole_tree(workspace), None, None)
        event(f"{kind}: exit {done.code}")


PAGE = {}


@pytest.mark.slow
@settings(max_examples=examples(0.05))
@given(WORKSPACE_KINDS, tool_argv(["--out", "-h", "--ou", "--out=", "workspace", "HEAD", "--"], integers=False))
def test_plots_page_command_lines_exit_0_1_or_2_and_keep_a_previous_page_whole(
    tools_workspace, dvc_repository, kind, argv
):
    from tools import plots_page

    if "page" not in PAGE:  # the inlined Vega bundle takes seconds to build, and is the same every time
        PAGE["page"] = plots_page.template()
    repository, env = dvc_repository.path, dvc_repository.env
    with tempfile.TemporaryDirectory() as directory:
        source = repository if kind == "a DVC repository" else tools_workspace
        workspace = copy_workspace(source, Path(directory) / "ws")
        (workspace / "reports" / "plots").mkdir(exist_ok=True)
        (workspace / "reports" / "plots" / "index.html").write_text("the previous page, whole\n")
        before = whole_tree(workspace)
        with environment(env), patched(plots_page, "template", lambda: PAGE["page"]):
            done = run_entry(lambda: guarded(plots_page.main), workspace, ["tools/plots_page.py", *argv])
        page = written_path(done, r"plots: (.*index\.html)")

        def check_page(path):
            assert "vegaEmbed" in (workspace / path).read_text(encoding="utf-8")

        check_tool_contract(done, before, whole_tree(workspace), page, check_page)
        event(f"{kind}: exit {done.code}")


class Measuring(BaseException):
    """Raised where the bench's measurement would start: its arguments have passed every check."""


@pytest.mark.slow
@settings(max_examples=examples(0.1))
@given(
    tool_argv(
        ["--rounds", "--contended", "--optimizers", "--mnist-dir", "--pipeline", "--out", "-h", "--round", "--"],
        extra=["sgd", "adam,sgd", "adam,", ",", "nesterov,momentum", "SGD", "sgd,,sgd"],
    )
)
def test_bench_command_lines_exit_0_1_or_2_before_measuring_anything(tools_workspace, argv):
    """The bench's command line up to where its measurement starts (minutes of it, which a property cannot
    spend per example): usage errors exit 2, bad values exit 1 with one line, nothing is written."""
    from tools.bench import speed as bench

    def measure(*args):
        raise Measuring

    with tempfile.TemporaryDirectory() as directory:
        workspace = copy_workspace(tools_workspace, Path(directory) / "ws")
        before = whole_tree(workspace)
        with patched(bench, "measure", measure):
            done = run_entry(lambda: guarded(bench.main), workspace, ["tools/bench/speed.py", *argv])
        if isinstance(done.escaped, Measuring):
            event("reached the measurement")
            assert whole_tree(workspace) == before and done.error_lines() == [], done.describe()
            return
        check_tool_contract(done, before, whole_tree(workspace), None, None)
        event(f"exit {done.code}")
