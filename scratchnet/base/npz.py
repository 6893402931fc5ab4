"""Read an .npz archive without unpickling and within a size limit; every way a file can fail
becomes one error naming it, and what to do.

Each array's header (shape and dtype) is read and checked before the array is:
a small file whose header claims billions of rows is refused, not allocated. Every
decoder's failure (zip structure, deflate data, the .npy header) is the same error:
a pipeline file that cannot be read is most often a damaged copy in DVC's cache, and the
error gives the command that replaces it (dvccache.py).
"""

import errno
import zipfile
import zlib

import numpy as np

from .dvccache import remedy
from .errors import ScratchnetError

MAX_ARRAY_BYTES = 1 << 30  # 1 GiB per array: full MNIST is 55 MB, the reference model 2.3 MB


def _header(archive, name):
    """(shape, dtype) that the member ``name`` of the open zip ``archive`` declares."""
    with archive.open(name) as member:
        version = np.lib.format.read_magic(member)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(member)
    return shape, dtype


def read_npz(path, error, kind, max_bytes=MAX_ARRAY_BYTES):
    """{name: array} of every array in the .npz at ``path``.

    Raises ``error`` (an exception class) with a message naming ``path`` and the
    ``kind`` of file it should be ("model", "data").
    """
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":
                if file.seek(0) == 0 and file.read(6) == b"\x93NUMPY":
                    raise error(f"{path}: a single .npy array, not an .npz {kind} file")
                raise error(f"{path}: not a readable .npz {kind} file (not a zip archive)")
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                for info in archive.infolist():
                    shape, dtype = _header(archive, info.filename)
                    name = info.filename.removesuffix(".npy")
                    if dtype.hasobject:
                        raise error(f"{path}: array {name} holds Python objects; a {kind} file holds numbers only")
                    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if nbytes > min(max_bytes, info.file_size):
                        raise error(
                            f"{path}: array {name} claims shape {shape} of {dtype} ({nbytes:,} bytes), "
                            f"more than the file holds or the {max_bytes:,} bytes a {kind} file may "
                            "(truncated, corrupt or not ours?)"
                        )
                file.seek(0)
                with np.load(file, allow_pickle=False) as f:
                    return {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except (ScratchnetError, MemoryError):
        raise
    except OSError as e:
        if machine_fault(e):
            raise  # the machine (permissions, a directory, a disk error): the entry point says so
        raise error(f"{path}: not a readable .npz {kind} file ({describe(e)}); {remedy(path)}") from None
    except Exception as e:  # every decoder's failure on these bytes: zip, deflate, lzma, bzip2, the .npy header
        raise error(f"{path}: not a readable .npz {kind} file ({describe(e)}); {remedy(path)}") from None


def machine_fault(e: OSError) -> bool:
    """Whether reading failed for the machine's reasons (permissions, a device error) rather than the
    bytes': decoders raise OSError without an errno, and EINVAL for a seek their header sent too far."""
    return e.errno is not None and e.errno != errno.EINVAL


def describe(e: Exception) -> str:
    reason = f"corrupt compressed data: {e}" if isinstance(e, zlib.error) else f"{type(e).__name__}: {e}"
    return reason[:200]
