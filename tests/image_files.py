"""Pictures and .npy arrays for predict, as Hypothesis strategies: every image mode and format,
declared sizes that lie, wrong magic numbers, random bytes."""

from __future__ import annotations

import io
import math
import struct
import zlib

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import assume, event
from hypothesis import strategies as st
from npz_mutations import (
    DESCR_TEXT,
    FORTRAN_TEXT,
    NPZ_DTYPES,
    SHAPE_TEXT,
    Generated,
    array_like,
    byte_mutation,
    describe_array,
    header_text,
    npy_of,
    npy_with_header,
    split_npy,
)

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
