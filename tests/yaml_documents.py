"""params.yaml changed, as Hypothesis strategies: values as Python holds them at any key, and the
file's text edited line by line and byte by byte into any YAML document."""

from __future__ import annotations

import copy
import json
import math
import re

from hypothesis import strategies as st
from npz_mutations import Generated, short_text
from tiny_workspace import default_raw, tiny_params_text


def text_line_edits(text):
    """(line index, indent, key, value) of the ``key: value`` lines of a YAML text."""
    found = []
    for i, line in enumerate(text.splitlines()):
        m = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):(.*)$", line)
        if m:
            found.append((i, m.group(1), m.group(2), m.group(3)))
    return found


# --- generators: params.yaml's values as Python holds them, and changes to the file -----------

HUGE_INTS = st.integers(0, 6000).map(lambda k: 10**k) | st.integers(0, 6000).map(lambda k: -(10**k))
SPECIAL_FLOATS = st.sampled_from(
    [1e-320, 5e-324, -0.0, 1e-45, 1.2e-38, 3.4028235e38, 3.5e38, 1e300, 1e308, math.inf, -math.inf, math.nan]
)
NUMERIC_TEXT = st.one_of(
    st.from_regex(r"\A ?[+-]?(\d{1,45}|\d{0,20}\.\d{0,20})([eE][+-]?\d{1,4})? ?\Z"),
    st.sampled_from(["inf", "-inf", "nan", ".inf", ".nan", "1/3", "0x10", "1_000", "1e400", "1e-400", "64.0", ""]),
)
CHOICE_NAMES = st.sampled_from(
    ["sgd", "momentum", "adam", "none", "step", "cosine", "stratified", "official", "openml", "idx", "sample"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(),
    SPECIAL_FLOATS,
    st.text(max_size=30),
    NUMERIC_TEXT,
    CHOICE_NAMES,
    st.binary(max_size=8),
    st.dates(),
)
KEYS = st.one_of(
    st.text(max_size=20),
    st.integers(),
    HUGE_INTS,
    st.booleans(),
    st.none(),
    st.floats(),
    st.tuples(st.integers(), st.text(max_size=3)),
)


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


VALUES = st.one_of(
    st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(KEYS, c, max_size=3), max_leaves=8),
    st.lists(st.integers() | HUGE_INTS, max_size=18),  # hidden_sizes-like lists
    st.integers(1, 300).map(nested),
)

BASE_RAW = default_raw()
SECTION_KEYS = [(s, k) for s, keys in BASE_RAW.items() for k in keys]
MUTATIONS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(SECTION_KEYS), VALUES),
    st.tuples(st.just("unknown key"), st.sampled_from(list(BASE_RAW)), KEYS, VALUES),
    st.tuples(st.just("unknown section"), KEYS, VALUES),
    st.tuples(st.just("delete key"), st.sampled_from(SECTION_KEYS)),
    st.tuples(st.just("delete section"), st.sampled_from(list(BASE_RAW))),
    st.tuples(st.just("replace section"), st.sampled_from(list(BASE_RAW)), VALUES),
    st.tuples(st.just("replace file"), VALUES),
)


def mutate_raw(mutations):
    raw = copy.deepcopy(BASE_RAW)
    for m in mutations:
        if m[0] == "replace file":
            raw = m[1]
        elif not isinstance(raw, dict):
            continue
        elif m[0] == "set" and isinstance(raw.get(m[1][0]), dict):
            raw[m[1][0]][m[1][1]] = m[2]
        elif m[0] == "unknown key" and isinstance(raw.get(m[1]), dict):
            raw[m[1]][m[2]] = m[3]
        elif m[0] == "unknown section":
            raw[m[1]] = m[2]
        elif m[0] == "delete key" and isinstance(raw.get(m[1][0]), dict):
            raw[m[1][0]].pop(m[1][1], None)
        elif m[0] == "delete section":
            raw.pop(m[1], None)
        elif m[0] == "replace section":
            raw[m[1]] = m[2]
    return raw


# --- generators: params.yaml as text ----------------------------------------------------------

TINY_TEXT = tiny_params_text()
TINY_LINES = TINY_TEXT.splitlines()
KEY_LINES = text_line_edits(TINY_TEXT)
YAML_TOKENS = [
    "null", "~", "", "true", "false", "yes", "no", "on", "off", ".nan", ".NaN", ".inf", "-.inf", "1e400",
    "-1e400", "1e-320", "4.9e-324", "1.0e-6", "0", "-0", "0.0", "1", "-1", "64", "64.0", "0x40", "0o100",
    "0b1000000", "1_000", "1:20", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "'1e-4'", '"64"', "' 64 '",
    "'inf'", "'nan'", '"\\0"', '"\\x00"', "'\u0661\u0662'", "!!int 0x", "!!int 1:20", "!!int abc", "!!int ''",
    "!!float abc", "!!float ''", "!!float 0x10", "!!bool maybe", "!!timestamp 2001-13-45", "!!timestamp x",
    "!!binary AAAA", "!!binary '!'", "!!str 1", "!!null x", "!!set {a, b}", "!!omap [a: 1, a: 2]",
    "!!omap [1, 2]", "!!pairs [a: 1]", "!!pairs [1]", "!!seq x", "!!map x", "!!python/tuple [1]",
    "!!python/object:os.system x", "!foo bar", "&a 1", "*undefined", "&a [*a]", "? a", "|\n    block",
    ">\n    folded", "[", "{", "]", "}", "@x", "`x", "%x", "- a", "a: b", '"\\uD800"', "'\t'", "\t1",
    "[1, 2", "{a: 1", "[64, 32]", "[]", "{}", "[[16]]", "[16.0]", "[0]", "[-1]", "[16384, 16384, 16384]",
    "!!int 64", "!!float 1", "!!str", "<<: {a: 1}", "!!merge x", "!!value x", "!!yaml x", "!<tag:x> 1",
]  # fmt: skip
YAML_TAGS = [
    "!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp", "!!binary", "!!omap", "!!pairs", "!!set",
    "!!seq", "!!map", "!!merge", "!!value", "!!yaml", "!!python/tuple", "!!python/name:os.system", "!foo", "!<x>",
]  # fmt: skip
TAG_PAYLOADS = [
    "", "x", "''", "0x", "0b", "0o", "1:20", "-1:20", "abc", "2001-13-45", "2001-02-30", "2001-12-14 99:99:99",
    "[a: 1, a: 2]", "[1]", "[[1, 2]]", "{a: 1}", "{a}", "'!'", "AAAA", "AAA", "1e400", ".nan", "1_0", "0x_1",
]  # fmt: skip
YAML_SCALAR_TEXT = st.one_of(
    st.tuples(st.sampled_from(YAML_TAGS), st.sampled_from(TAG_PAYLOADS)).map(" ".join),
    st.sampled_from(YAML_TOKENS),
    st.integers().map(str),
    st.integers(300, 6000).map(lambda n: "1" + "0" * n),
    st.integers(1, 6000).map(lambda n: "0x" + "f" * n),
    st.integers(1, 6000).map(lambda n: "!!int " + "9" * n),
    st.floats().map(
        lambda f: ".nan" if f != f else (".inf" if f == math.inf else "-.inf" if f == -math.inf else repr(f))
    ),
    st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.text(max_size=12),
    NUMERIC_TEXT,
)
YAML_VALUE_TEXT = st.one_of(
    st.recursive(
        YAML_SCALAR_TEXT,
        lambda c: (
            st.lists(c, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
            | st.lists(st.tuples(YAML_SCALAR_TEXT, c), max_size=3).map(
                lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
            )
        ),
        max_leaves=6,
    ),
    st.sampled_from([2, 40, 400, 1100]).map(lambda n: "[" * n + "]" * n),  # beyond the recursion limit
    st.integers(1, 9).map(lambda n: "&a0 [x, x]  # bomb\n" if n == 1 else f"[{', '.join(['x'] * n)}]"),
)
LINE_EDITS = st.one_of(
    st.tuples(st.just("value"), st.sampled_from(range(len(KEY_LINES))), YAML_VALUE_TEXT),
    st.tuples(st.just("key"), st.sampled_from(range(len(KEY_LINES))), YAML_SCALAR_TEXT),
    st.tuples(st.just("insert"), st.integers(0, len(TINY_LINES)), st.sampled_from(["", "  "]), YAML_SCALAR_TEXT,
              YAML_VALUE_TEXT),
    st.tuples(st.just("delete"), st.integers(0, len(TINY_LINES) - 1)),
    st.tuples(st.just("raw line"), st.integers(0, len(TINY_LINES) - 1), st.text(max_size=30)),
)  # fmt: skip
BYTE_EDITS = st.one_of(
    st.tuples(st.just("bom")),
    st.tuples(st.just("bytes"), st.floats(0, 1), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
)


def edited_text(edits):
    lines = list(TINY_LINES)
    for edit in edits:
        if edit[0] in ("value", "key"):
            index, indent, key, value = KEY_LINES[edit[1]]
            if index >= len(lines):
                continue
            lines[index] = f"{indent}{key}: {edit[2]}" if edit[0] == "value" else f"{indent}{edit[2]}:{value}"
        elif edit[0] == "insert":
            lines.insert(min(edit[1], len(lines)), f"{edit[2]}{edit[3]}: {edit[4]}")
        elif edit[0] == "delete" and edit[1] < len(lines):
            del lines[edit[1]]
        elif edit[0] == "raw line" and edit[1] < len(lines):
            lines[edit[1]] = edit[2]
    return "\n".join(lines) + "\n"


def apply_byte_edits(data, edits):
    for edit in edits:
        if edit[0] == "bom":
            data = b"\xef\xbb\xbf" + data
        elif edit[0] == "bytes":
            at = int(edit[1] * len(data))
            data = data[:at] + edit[2] + data[at:]
        elif edit[0] == "truncate":
            data = data[: int(edit[1] * len(data))]
    return data


def short_edit(edit):
    return tuple(short_text(x) if isinstance(x, str) else x for x in edit)


@st.composite
def yaml_documents(draw):
    """A params.yaml's bytes: the tiny params with lines edited (and maybe bytes), a YAML value on its
    own, YAML tokens strung together, or any bytes."""
    kind = draw(st.sampled_from(["edited", "value", "tokens", "bytes"]))
    if kind == "edited":
        edits, byte_edits = draw(st.lists(LINE_EDITS, min_size=1, max_size=3)), draw(st.lists(BYTE_EDITS, max_size=1))
        data = apply_byte_edits(edited_text(edits).encode("utf-8", "surrogatepass"), byte_edits)
        return Generated(
            data, [f"tiny params.yaml, line edits {[short_edit(e) for e in edits]}", *map(str, byte_edits)]
        )
    if kind == "value":
        text = draw(YAML_VALUE_TEXT)
    elif kind == "tokens":
        text = "".join(
            draw(st.lists(st.sampled_from([*YAML_TOKENS, ": ", "\n", "  ", "- ", "a", "train"]), max_size=12))
        )
    else:
        data = draw(st.binary(max_size=64))
        return Generated(data, [repr(data)])
    return Generated(text.encode("utf-8", "surrogatepass"), [short_text(text)])


YAML_DOCUMENTS = yaml_documents()
