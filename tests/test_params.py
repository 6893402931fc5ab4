"""params.yaml validation: every problem named with its key, its value and what is allowed."""

import copy
import dataclasses

import configuration
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_helpers import CONFIGURATION_FILE, PROJECT_ROOT
from ruamel.yaml import YAML

from scratchnet import params
from scratchnet.base.constraints import FLOAT32_MAX, FLOAT32_TINY
from scratchnet.base.errors import ParamsError
from scratchnet.config import schema
from scratchnet.splits import SplitParams
from scratchnet.training.sections import TrainParams


@pytest.fixture
def raw():
    return configuration.document()


def value(p, dotted):
    """A validated value as params.yaml spells it."""
    section, key = dotted.split(".")
    return schema.as_dict(getattr(p, section))[key]


def test_the_shipped_params_yaml_validates_with_exactly_the_schemas_keys():
    """Whatever values a user set in params.yaml (the one test that reads it), it holds every key the
    schema declares and no other."""
    with open(PROJECT_ROOT / "params.yaml", encoding="utf-8") as f:
        shipped = YAML(typ="safe", pure=True).load(f)
    params.validate(shipped)
    assert {s: set(k) for s, k in shipped.items()} == {s: set(schema.keys(c)) for s, c in params.SECTIONS.items()}


def test_the_shipped_params_validate_into_typed_sections(raw):
    p = params.validate(raw)
    for name, section_class in params.SECTIONS.items():
        section = getattr(p, name)
        assert isinstance(section, section_class)
    # Every value in the file is the value in its section, converted to the field's type.
    for name, values in raw.items():
        as_written = schema.as_dict(getattr(p, name))
        assert as_written.keys() == values.keys()
        for key, value in values.items():
            assert as_written[key] == value, f"{name}.{key}"


def test_the_tests_configuration_names_a_key_the_schema_gained_or_lost(raw, monkeypatch):
    assert {s: list(k) for s, k in raw.items()} == {s: list(schema.keys(c)) for s, c in params.SECTIONS.items()}
    monkeypatch.delitem(configuration.VALUES, "train.lr")
    monkeypatch.setitem(configuration.VALUES, "train.no_such_key", 1)
    with pytest.raises(
        AssertionError, match=r"no value for \['train.lr'\]; keys the schema lacks \['train.no_such_key'\]"
    ):
        configuration.document()


def test_sections_are_frozen(raw):
    p = params.validate(raw)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.train.threads = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.train.fit.epochs = 1


def test_choices_come_from_the_registries(raw):
    from scratchnet.nn.optim import OPTIMIZERS, SCHEDULES
    from scratchnet.sources.registry import SOURCES
    from scratchnet.splits import SPLITS

    for key, registry in (
        ("train.optimizer", OPTIMIZERS),
        ("train.schedule", SCHEDULES),
        ("data.source", SOURCES),
        ("split.method", SPLITS),
    ):
        section, name = key.split(".")
        for choice in registry:
            assert value(params.validate(bad(raw, key, choice)), key) == choice
        with pytest.raises(ParamsError, match=f"expected one of {', '.join(registry)}"):
            params.validate(bad(raw, key, "no-such-choice"))


def test_a_stage_validates_only_the_sections_it_reads(raw):
    raw["train"]["lr"] = -1
    [split] = schema.validate(raw, SplitParams)
    assert isinstance(split, SplitParams)
    with pytest.raises(ParamsError, match="train.lr = -1"):
        schema.validate(raw, TrainParams)


@pytest.mark.parametrize("value, expected", [("1e-4", 1e-4), ("0.0001", 1e-4), (1e-4, 1e-4), (0, 0.0), ("5e-05", 5e-5)])
def test_numbers_written_back_as_strings_are_numbers(raw, value, expected):
    raw["train"]["lambda"] = value
    assert params.validate(raw).train.optimizer.weight_decay == pytest.approx(expected)
    assert isinstance(params.validate(raw).train.optimizer.weight_decay, float)


def test_exp_run_set_rewrite_reads_back_as_floats(tmp_path):
    """What `dvc exp run -S train.lambda=1e-4` writes (ruamel round trip) is read as a float."""
    yaml = YAML()
    with open(CONFIGURATION_FILE, encoding="utf-8") as f:
        doc = yaml.load(f)
    doc["train"]["lambda"] = yaml.load("1e-4")  # YAML 1.2 reads this as the float 0.0001
    doc["train"]["tol"] = "1e-7"  # and as a plain YAML 1.1 reader would hand it back
    path = tmp_path / "params.yaml"
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    p = params.load(path=str(path))
    assert p.train.optimizer.weight_decay == pytest.approx(1e-4) and p.train.fit.tol == pytest.approx(1e-7)


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
    ("train.batch_size", 0, "train.batch_size = 0 is not allowed: expected an integer in 1..65,536"),
    ("train.batch_size", 10**9, "train.batch_size = 1000000000 is not allowed: expected an integer in 1..65,536"),
    ("train.batch_size", 64.5, "train.batch_size = 64.5"),
    ("train.batch_size", 64.0, "train.batch_size = 64.0"),
    ("train.epochs", 0, "train.epochs = 0 is not allowed: expected an integer in 1..1,000,000"),
    ("train.patience", -1, "train.patience = -1 is not allowed: expected an integer in 0..1,000,000"),
    ("train.lr", 1e-50, r"train.lr = 1e-50 is not allowed: expected a number > 0, also in float32"),
    ("train.lr", 1e39, r"train.lr = 1e\+39 is not allowed"),
    ("train.eps", 1e-46, "train.eps = 1e-46 is not allowed: expected a number > 0, also in float32"),
    (
        "train.beta2",
        0.999999999,
        r"train.beta2 = 0.999999999 is not allowed: expected a number in \[0, 1\), also in float32",
    ),
    ("split.seed", 2**32, r"split.seed = 4294967296 is not allowed: expected an integer in \[0, 2\*\*32\)"),
    ("train.seed", -1, r"train.seed = -1 is not allowed"),
    (
        "model.hidden_sizes",
        [100_000],
        r"model.hidden_sizes = \[100000\] is not allowed: expected a non-empty list of "
        r"at most 16 integers in 1..16384, with at most 50,000,000 weights",
    ),
    ("model.hidden_sizes", [10_000] * 3, r"model.hidden_sizes = \[10000, 10000, 10000\] is not allowed"),
    (
        "evaluate.calibration_bins",
        10**6,
        r"evaluate.calibration_bins = 1000000 is not allowed: expected an integer in 2..1000",
    ),
    ("evaluate.n_misclassified", 10**6, r"expected an integer in 1..400"),
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
    ("split.method", "random", "split.method = 'random' is not allowed: expected one of stratified, official"),
    ("train.affine_shift", -1, r"train.affine_shift = -1 is not allowed: expected an integer in 0..13"),
    ("train.affine_shift", 14, "train.affine_shift = 14"),
    ("train.affine_shift", 1.5, "train.affine_shift = 1.5"),
    ("train.affine_rotation", 181, r"train.affine_rotation = 181 is not allowed: expected a number in \[0, 180\]"),
    ("train.affine_rotation", -5, "train.affine_rotation = -5"),
    ("train.affine_scale", 1.0, r"train.affine_scale = 1.0 is not allowed: expected a number in \[0, 1\)"),
    ("train.affine_scale", -0.1, "train.affine_scale = -0.1"),
    ("train.affine_shear", 90, r"train.affine_shear = 90 is not allowed: expected a number in \[0, 90\)"),
    ("train.elastic_alpha", 101, r"train.elastic_alpha = 101 is not allowed: expected a number in \[0, 100\]"),
    ("train.elastic_alpha", -1, "train.elastic_alpha = -1"),
    ("train.elastic_sigma", 0, r"train.elastic_sigma = 0 is not allowed: expected a number in \(0, 28\]"),
    ("train.elastic_sigma", 29, "train.elastic_sigma = 29"),
    ("train.elastic_alpha", DELETE, "missing key train.elastic_alpha"),
    ("model.input_dropout", 1.0, r"model.input_dropout = 1.0 is not allowed: expected a number in \[0, 1\)"),
    ("model.input_dropout", DELETE, "missing key model.input_dropout"),
    ("train.max_norm", -1, "train.max_norm = -1 is not allowed: expected a number >= 0"),
    ("train.max_norm", DELETE, "missing key train.max_norm"),
]


@pytest.mark.parametrize("dotted, value, message", CASES, ids=[f"{c[0]}={c[1]!r}"[:40] for c in CASES])
def test_bad_values_name_key_value_and_what_is_allowed(raw, dotted, value, message):
    with pytest.raises(ParamsError, match=message):
        params.validate(bad(raw, dotted, value))


@pytest.mark.parametrize(
    "section, key, suggestion",
    [
        ("train", "lamda", "train.lambda"),
        ("train", "learning_rate", None),
        ("model", "hiden_sizes", "model.hidden_sizes"),
        ("train", "batchsize", "train.batch_size"),
    ],
)
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
    assert params.validate(raw).data.source == "idx"  # only the fetch stage reads the files
    with pytest.raises(ParamsError, match="data.idx_dir = '' is not allowed with data.source idx: it is empty"):
        params.validate(raw).data.check_files()
    raw["data"]["idx_dir"] = str(tmp_path / "nowhere")
    with pytest.raises(ParamsError, match="no such directory"):
        params.validate(raw).data.check_files()
    raw["data"]["idx_dir"] = str(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(ParamsError, match=r"missing train-labels-idx1-ubyte\[.gz\], t10k-images"):
        params.validate(raw).data.check_files()


@pytest.mark.parametrize(
    "text, message",
    [
        ("train: {lr: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected sections"),
        ("train: 5\n", "section 'train' must be a mapping"),
    ],
)
def test_broken_files(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=message):
        params.load(path=str(path))


def test_not_utf8_not_a_file_and_too_large(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes("train:\n  lr: 0.001 # caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ParamsError, match=r"params.yaml: not UTF-8 text \(byte \d+: invalid .*\); save it as UTF-8"):
        params.load(path=str(path))
    with pytest.raises(ParamsError, match="not a regular file"):
        params.load(path=str(tmp_path))
    path.write_text("# padding\n" * 200_000)
    with pytest.raises(ParamsError, match=r"2,000,000 bytes is more than a params file holds"):
        params.load(path=str(path))


def test_a_yaml_alias_bomb_gives_a_short_message(tmp_path):
    """Nine levels of aliases expand to 10**9 items; the error names the key in a few hundred characters."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    text = CONFIGURATION_FILE.read_text(encoding="utf-8").replace("  lr: 0.001", "  lr: *a8")
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines) + "\n" + text)
    with pytest.raises(ParamsError, match=r"train.lr = \[\[\[\.\.\.\], ") as info:
        schema.load(TrainParams, path=str(path))
    lines = str(info.value).splitlines()
    assert len(lines) == 11 and max(map(len, lines)) < 500, lines  # 9 unknown sections, lr, the header


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        params.load(path=str(tmp_path / "params.yaml"))


def test_distortions_are_off_by_default(raw):
    train = params.validate(raw).train
    assert [
        train.values[k] for k in ("affine_shift", "affine_rotation", "affine_scale", "affine_shear", "elastic_alpha")
    ] == [0, 0, 0, 0, 0]
    assert train.distortion is None


@pytest.mark.parametrize(
    "key, value",
    [("affine_shift", 2), ("affine_rotation", 15), ("affine_scale", 0.15), ("affine_shear", 10), ("elastic_alpha", 34)],
)
def test_any_distortion_key_turns_distortions_on(raw, key, value):
    distortion = params.validate(bad(raw, f"train.{key}", value)).train.distortion
    assert distortion is not None and distortion.is_on


@pytest.mark.parametrize(
    "key, value",
    [
        ("affine_shift", 13),
        ("affine_rotation", 180),
        ("affine_scale", 0.99),
        ("affine_shear", 89.9),
        ("elastic_alpha", 100),
        ("elastic_sigma", 28),
        ("elastic_sigma", 0.1),
        ("affine_rotation", "15"),
    ],
)
def test_distortion_bounds_are_inclusive_where_they_say_so(raw, key, value):
    assert params.validate(bad(raw, f"train.{key}", value)).train.values[key] == float(value)


def test_the_official_split_ignores_test_fraction(raw):
    """val_fraction + test_fraction < 1 matters to the stratified split only: official takes its test
    set from the data, and val_fraction is its share of the 60,000 training digits."""
    raw["split"].update(val_fraction=0.5, test_fraction=0.6)
    with pytest.raises(ParamsError, match=r"split.val_fraction \+ split.test_fraction = 1.1"):
        params.validate(raw)
    raw["split"]["method"] = "official"
    assert params.validate(raw).split.method == "official"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    input_dropout=st.floats(-1, 2) | st.sampled_from([0.0, 0.8, 1.0, float("nan")]),
    max_norm=st.floats(-5, 10) | st.sampled_from([0.0, 3.0, float("inf"), float("nan"), 1e39]),
)
def test_input_dropout_and_max_norm_reach_the_network_or_name_the_key(raw, input_dropout, max_norm):
    """Through the schema, model.input_dropout in [0, 1) reaches the MLP and train.max_norm >= 0 (a
    normal float32) the optimizer, as given; any other value is one ParamsError naming its key."""
    from scratchnet.training.recipe import build_model

    raw = copy.deepcopy(raw)
    raw["model"]["input_dropout"], raw["train"]["max_norm"] = input_dropout, max_norm
    dropout_ok = 0 <= input_dropout < 1
    norm_ok = max_norm == 0 or FLOAT32_TINY <= max_norm <= FLOAT32_MAX  # a normal float32, as lambda
    if dropout_ok and norm_ok:
        p = params.validate(raw)
        assert build_model(p.model).input_dropout == input_dropout
        assert p.train.optimizer.max_norm == max_norm
        return
    with pytest.raises(ParamsError) as info:
        params.validate(raw)
    assert ("model.input_dropout" in str(info.value)) == (not dropout_ok)
    assert ("train.max_norm" in str(info.value)) == (not norm_ok)
