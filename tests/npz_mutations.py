""".npz archives (the data and model files) changed member by member and byte by byte, as Hypothesis
strategies, and the counterexamples it found rebuilt for @example. A generated file is a
``Generated``: its bytes and the steps that made it, which is what Hypothesis prints for a
failing example."""

from __future__ import annotations

import contextlib
import io
import json
import math
import reprlib
import struct
import zipfile
from dataclasses import dataclass

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st
from tiny_workspace import synthetic_digits

from scratchnet.nn import checkpoint
from scratchnet.nn.model import MLP

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
