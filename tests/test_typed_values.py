"""Typed values in params.yaml (Hypothesis over every key of every section): a number written as a
quoted string ("0.001", as `dvc exp run -S` can write one back) means the number it spells, with
byte-identical outputs; a quoted value where a boolean belongs, or a string that spells no number
where a number belongs, is one ParamsError naming the key. Nothing else is read from a string.
"""

from __future__ import annotations

import copy
import io
import tempfile
from pathlib import Path

import pytest
from entry_runs import run_entry
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from tiny_workspace import make_finished_workspace
from yaml_documents import BASE_RAW, TINY_TEXT

import stages.train
from scratchnet import params
from scratchnet.base.boundary import guarded
from scratchnet.base.constraints import Boolean, Interval, IntList
from scratchnet.base.errors import ParamsError
from scratchnet.config import schema

EVERY_KEY = [(section, key) for section, cls in params.SECTIONS.items() for key in schema.keys(cls)]
# Every key but those that hold names (a choice of a registry, a directory): strings are their type.
TYPED_KEYS = [
    (s, k) for s, k in EVERY_KEY if isinstance(schema.keys(params.SECTIONS[s])[k], (Interval, IntList, Boolean))
]


def examples(weight):
    return max(1, round(settings.default.max_examples * weight))


def spellings(value):
    """Strings that spell ``value`` as a decimal number, as people and tools write them."""
    if isinstance(value, bool):
        return st.sampled_from([str(value).lower(), str(value), "yes" if value else "no"])
    if isinstance(value, int):
        return st.sampled_from([str(value), f"+{value}" if value >= 0 else str(value), f" {value} "])
    return st.sampled_from([repr(value), f"{value:.17g}", f"{value:.17e}", f"{value:.17E}".replace("E+", "E")])


def raw_value(constraint):
    """Values a key may hold in YAML: numbers near its bounds and anywhere, booleans, lists of them."""
    if isinstance(constraint, IntList):
        return st.lists(st.integers(1, 64), min_size=1, max_size=3)
    if isinstance(constraint, Boolean):
        return st.booleans()
    if isinstance(constraint, Interval):
        low = 0 if constraint.low is None else constraint.low
        high = 2 * low + 10 if constraint.high is None else constraint.high
        integers = st.integers(int(low) - 1, int(high) + 1)
        return integers if constraint.kind is int else integers | st.floats(low - 1, high + 1, allow_nan=False)
    return st.nothing()


def validated(raw, section):
    """(as_dict of the section, None) or (None, the ParamsError's message)."""
    try:
        built = params.validate(raw)
    except ParamsError as e:
        return None, str(e)
    return schema.as_dict(getattr(built, section)), None


@settings(max_examples=examples(10))
@given(st.sampled_from(TYPED_KEYS), st.data())
def test_a_quoted_value_is_the_number_it_spells_or_an_error_naming_the_key(where, data):
    section, key = where
    constraint = schema.keys(params.SECTIONS[section])[key]
    value = data.draw(raw_value(constraint), label="value")
    if isinstance(value, list):
        spelled = [data.draw(spellings(v), label="item") for v in value]
    else:
        spelled = data.draw(spellings(value), label="spelled")
    as_number, as_text = copy.deepcopy(BASE_RAW), copy.deepcopy(BASE_RAW)
    as_number[section][key], as_text[section][key] = value, spelled
    number_values, number_error = validated(as_number, section)
    text_values, text_error = validated(as_text, section)
    if isinstance(constraint, Boolean):  # never read from a string: "no" or "False" is one error line
        assert text_error is not None and f"{section}.{key}" in text_error
        return
    if number_error is not None:
        assert text_error is not None and f"{section}.{key}" in text_error, (number_error, text_error)
        return
    assert text_error is None, f"{value!r} is accepted, its spelling {spelled!r} is not: {text_error}"
    assert text_values == number_values
    assert repr(text_values[key]) == repr(number_values[key])  # the same type too (1 and 1.0 differ in JSON)


@pytest.mark.parametrize("word", ["abc", "1,5", "0x10", "nan", "inf", "1/3", "", "1e999"])
def test_a_string_that_spells_no_number_is_refused_at_every_numeric_key(word):
    for section, key in EVERY_KEY:
        constraint = schema.keys(params.SECTIONS[section])[key]
        if not isinstance(constraint, (Interval, IntList)):
            continue
        raw = copy.deepcopy(BASE_RAW)
        raw[section][key] = [word] if isinstance(constraint, IntList) else word
        with pytest.raises(ParamsError, match=f"{section}.{key} = "):
            params.validate(raw)


def test_train_on_quoted_numbers_writes_the_same_model_file_byte_for_byte(tmp_path):
    """One real train stage run with its numbers as numbers, one with them quoted."""
    (tmp_path / "w").mkdir()
    root = make_finished_workspace(tmp_path / "w")
    yaml = YAML()
    models = []
    for quoted in (False, True):
        doc = yaml.load(TINY_TEXT)
        if quoted:
            for key in ("lr", "lambda", "epochs", "batch_size", "momentum", "tol"):
                doc["train"][key] = str(doc["train"][key])
            doc["model"]["hidden_sizes"] = [str(v) for v in doc["model"]["hidden_sizes"]]
        text = io.StringIO()
        yaml.dump(doc, text)
        (root / "params.yaml").write_text(text.getvalue(), encoding="utf-8")
        if quoted:
            assert "'0.05'" in text.getvalue() or '"0.05"' in text.getvalue()
        argv = ["stages/train.py", "data/split", "data/model/model.npz", "reports/live"]
        done = run_entry(lambda: guarded(stages.train.main), root, argv)
        assert done.code == 0, done.describe()
        models.append(((root / "data/model/model.npz").read_bytes(), (root / "reports/live/run.json").read_bytes()))
    assert models[0] == models[1]


def test_validated_values_name_the_run_not_the_spelling():
    """Loaded.values is what the train stage names its run from: equal for equal meanings."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for lr in (0.001, "0.001", "1e-3", "1.0e-3"):
            raw = copy.deepcopy(BASE_RAW)
            raw["train"]["lr"] = lr
            path = Path(tmp) / "params.yaml"
            buffer = io.StringIO()
            YAML().dump(raw, buffer)
            path.write_text(buffer.getvalue(), encoding="utf-8")
            runs.append(schema.load(*params.SECTIONS.values(), path=str(path)).values)
        assert all(r == runs[0] for r in runs)
