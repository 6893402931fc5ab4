"""params.yaml validation: every problem named with its key, its value and what is allowed."""
import copy

import pytest
from ruamel.yaml import YAML

from pipeline_helpers import PROJECT_ROOT
from scratchnet import params
from scratchnet.errors import ParamsError


@pytest.fixture
def raw():
    with open(PROJECT_ROOT / "params.yaml", encoding="utf-8") as f:
        return YAML(typ="safe", pure=True).load(f)


def test_the_shipped_params_are_the_reference_configuration(raw):
    p = params.validate(raw)
    assert p["data"] == {"source": "openml", "idx_dir": ""}
    assert p["split"] == {"seed": 42, "val_fraction": 0.1, "test_fraction": 0.1}
    assert p["model"] == {"hidden_sizes": [512, 256, 128], "init_seed": 0, "dropout": 0.0}
    t = p["train"]
    assert (t["epochs"], t["batch_size"], t["lr"], t["lambda"], t["patience"], t["tol"], t["seed"]) == \
        (2000, 64, 0.001, 0.001, 30, 1e-6, 0)
    assert (t["optimizer"], t["schedule"]) == ("sgd", "none")


def test_every_schema_key_is_in_params_yaml(raw):
    assert {s: set(k) for s, k in raw.items()} == {s: set(k) for s, k in params.SCHEMA.items()}


@pytest.mark.parametrize("value, expected", [("1e-4", 1e-4), ("0.0001", 1e-4), (1e-4, 1e-4), (0, 0.0),
                                             ("5e-05", 5e-5)])
def test_numbers_written_back_as_strings_are_numbers(raw, value, expected):
    raw["train"]["lambda"] = value
    assert params.validate(raw)["train"]["lambda"] == pytest.approx(expected)
    assert isinstance(params.validate(raw)["train"]["lambda"], float)


def test_exp_run_set_rewrite_reads_back_as_floats(tmp_path):
    """What `dvc exp run -S train.lambda=1e-4` writes (ruamel round trip) is read as a float."""
    yaml = YAML()
    with open(PROJECT_ROOT / "params.yaml", encoding="utf-8") as f:
        doc = yaml.load(f)
    doc["train"]["lambda"] = yaml.load("1e-4")  # YAML 1.2 reads this as the float 0.0001
    doc["train"]["tol"] = "1e-7"  # and as a plain YAML 1.1 reader would hand it back
    path = tmp_path / "params.yaml"
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    p = params.load(str(path))
    assert p["train"]["lambda"] == pytest.approx(1e-4) and p["train"]["tol"] == pytest.approx(1e-7)


def bad(raw, dotted, value):
    section, key = dotted.split(".")
    raw = copy.deepcopy(raw)
    if value is DELETE:
        del raw[section][key]
    else:
        raw[section][key] = value
    return raw


DELETE = object()
CASES = [
    ("train.lr", 0, "train.lr = 0 is not allowed: expected a number > 0"),
    ("train.lr", -0.1, "train.lr = -0.1"),
    ("train.lr", "fast", "train.lr = 'fast' is not allowed: expected a number > 0"),
    ("train.lr", [0.1], r"train.lr = \[0.1\]"),
    ("train.lr", True, "train.lr = True"),
    ("train.lr", float("nan"), "train.lr = nan"),
    ("train.lambda", -1e-4, "train.lambda = -0.0001 is not allowed: expected a number >= 0"),
    ("train.batch_size", 0, "train.batch_size = 0 is not allowed: expected an integer >= 1"),
    ("train.batch_size", 64.5, "train.batch_size = 64.5"),
    ("train.batch_size", 64.0, "train.batch_size = 64.0"),
    ("train.epochs", 0, "train.epochs = 0 is not allowed: expected an integer >= 1"),
    ("train.patience", -1, "train.patience = -1 is not allowed: expected an integer >= 0"),
    ("train.tol", -1e-6, "train.tol = -1e-06 is not allowed: expected a number >= 0"),
    ("train.optimizer", "rmsprop", "train.optimizer = 'rmsprop' is not allowed: expected one of sgd, momentum, adam"),
    ("train.nesterov", "yes", "train.nesterov = 'yes' is not allowed: expected true or false"),
    ("train.momentum", 1.0, r"train.momentum = 1.0 is not allowed: expected a number in \[0, 1\)"),
    ("train.schedule", "linear", "train.schedule = 'linear'"),
    ("split.val_fraction", 0, r"split.val_fraction = 0 is not allowed: expected a number in \(0, 1\)"),
    ("split.test_fraction", 1.2, "split.test_fraction = 1.2"),
    ("split.val_fraction", 0.9, r"split.val_fraction \+ split.test_fraction = 1 is not allowed"),
    ("model.hidden_sizes", [], "model.hidden_sizes = \\[\\] is not allowed: expected a non-empty list"),
    ("model.hidden_sizes", [512, 0], r"model.hidden_sizes = \[512, 0\]"),
    ("model.hidden_sizes", 512, "model.hidden_sizes = 512"),
    ("model.hidden_sizes", ["512", "wide"], "model.hidden_sizes"),
    ("model.dropout", 1.0, r"model.dropout = 1.0 is not allowed: expected a number in \[0, 1\)"),
    ("model.dropout", -0.1, "model.dropout = -0.1"),
    ("data.source", "kaggle", "data.source = 'kaggle' is not allowed: expected one of openml, idx, sample"),
    ("evaluate.calibration_bins", 1, "evaluate.calibration_bins = 1"),
    ("train.lambda", DELETE, "missing key train.lambda"),
]


@pytest.mark.parametrize("dotted, value, message", CASES, ids=[f"{c[0]}={c[1]!r}"[:40] for c in CASES])
def test_bad_values_name_key_value_and_what_is_allowed(raw, dotted, value, message):
    with pytest.raises(ParamsError, match=message):
        params.validate(bad(raw, dotted, value))


@pytest.mark.parametrize("section, key, suggestion", [
    ("train", "lamda", "train.lambda"), ("train", "learning_rate", None), ("model", "hiden_sizes", "model.hidden_sizes"),
    ("train", "batchsize", "train.batch_size"),
])
def test_unknown_keys_are_errors_with_a_suggestion(raw, section, key, suggestion):
    raw[section][key] = 0.1
    with pytest.raises(ParamsError, match=f"unknown key {section}.{key}") as info:
        params.validate(raw)
    if suggestion:
        assert f"did you mean {suggestion}?" in str(info.value)


def test_unknown_section(raw):
    raw["trian"] = raw.pop("train")
    with pytest.raises(ParamsError, match=r"unknown section 'trian' \(did you mean train\?\)"):
        params.validate(raw)


def test_every_problem_is_listed_at_once(raw):
    raw["train"]["lr"] = -1
    raw["train"]["lamda"] = 0.1
    raw["model"]["dropout"] = 2
    with pytest.raises(ParamsError, match="has 3 problems") as info:
        params.validate(raw)
    assert all(k in str(info.value) for k in ("train.lr", "train.lamda", "model.dropout"))


def test_idx_source_needs_a_directory_with_the_files(raw, tmp_path):
    raw["data"]["source"] = "idx"
    assert params.validate(raw)["data"]["source"] == "idx"  # only the fetch stage reads the files
    with pytest.raises(ParamsError, match="data.idx_dir = '' is not allowed with data.source idx: it is empty"):
        params.validate(raw, check_files=True)
    raw["data"]["idx_dir"] = str(tmp_path / "nowhere")
    with pytest.raises(ParamsError, match="no such directory"):
        params.validate(raw, check_files=True)
    raw["data"]["idx_dir"] = str(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(ParamsError, match=r"missing train-labels-idx1-ubyte\[.gz\], t10k-images"):
        params.validate(raw, check_files=True)


@pytest.mark.parametrize("text, message", [
    ("train: {lr: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "expected sections"),
    ("train: 5\n", "section 'train' must be a mapping"),
])
def test_broken_files(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=message):
        params.load(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        params.load(str(tmp_path / "params.yaml"))
