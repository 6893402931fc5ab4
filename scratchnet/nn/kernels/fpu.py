"""Subnormal floats flushed to zero by the CPU itself, for a block of code in the calling thread.

Adam's moments of never-lit border pixels decay geometrically until they are subnormal
(below 1.2e-38 in float32), and x86 computes on subnormal numbers about 100 times slower
(an epoch went from 3 s to 30 s). CPUs can flush them to zero in hardware: on x86-64 the
MXCSR register's FTZ and DAZ bits, on ARM64 the FPCR's FZ bit. NumPy cannot set them, but
the C library's ``fegetenv``/``fesetenv`` can, through ctypes: ``flush_subnormals()`` sets
them for the block and restores the previous state after it. It affects the calling thread
only, and only numbers below the smallest normal float. Where it is not available (another
C library or CPU), or a self-test shows it did not take, ``available()`` is False and Adam
zeroes such values with explicit passes instead (adam.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform
import struct
from collections.abc import Iterator

import numpy as np

# (offset of the control register in glibc's fenv_t, bits that flush) by machine
LAYOUTS = {"x86_64": (28, 0x8040), "AMD64": (28, 0x8040), "aarch64": (0, 1 << 24), "arm64": (0, 1 << 24)}
ENV_BYTES = 64  # more than glibc's fenv_t on either machine (32 and 8 bytes)

_STATE: tuple | None = None


def _library():
    """(fegetenv, fesetenv, offset, bits), or None where they cannot be used."""
    layout = LAYOUTS.get(platform.machine())
    name = ctypes.util.find_library("m")
    if layout is None or name is None:
        return None
    try:
        libm = ctypes.CDLL(name)
        get, set_ = libm.fegetenv, libm.fesetenv
    except (OSError, AttributeError):
        return None
    get.argtypes = set_.argtypes = [ctypes.c_void_p]
    get.restype = set_.restype = ctypes.c_int
    return get, set_, *layout


def _functions():
    global _STATE
    if _STATE is None:
        found = _library()
        _STATE = (found,) if found is None or _works(found) else (None,)
    return _STATE[0]


def _works(found) -> bool:
    """Whether flushing takes: 1e-30 * 1e-10 in float32 is the subnormal 1e-40 without it, 0 with it."""
    tiny = np.array([1e-30], np.float32)
    try:
        with _flushing(found):
            flushed = (tiny * np.float32(1e-10))[0]
    except OSError:
        return False
    return flushed == 0 and (tiny * np.float32(1e-10))[0] != 0


@contextlib.contextmanager
def _flushing(found) -> Iterator[None]:
    get, set_, offset, bits = found
    before = ctypes.create_string_buffer(ENV_BYTES)
    if get(before) != 0:
        raise OSError("fegetenv failed")
    (register,) = struct.unpack_from("<I", before.raw, offset)
    changed = bytearray(before.raw)
    struct.pack_into("<I", changed, offset, register | bits)
    after = ctypes.create_string_buffer(bytes(changed), ENV_BYTES)
    if set_(after) != 0:
        raise OSError("fesetenv failed")
    try:
        yield
    finally:
        set_(before)


def available() -> bool:
    return _functions() is not None


@contextlib.contextmanager
def flush_subnormals() -> Iterator[bool]:
    """Flush subnormal results and inputs to zero in this thread during the block (if available);
    yields whether it does."""
    found = _functions()
    if found is None:
        yield False
        return
    with _flushing(found):
        yield True
