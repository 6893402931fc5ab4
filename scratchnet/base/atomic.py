"""All-or-nothing outputs: every file goes to a temporary beside its target, and
the temporaries are renamed into place only when all of them are complete.

A failure part way (a bad input, a full disk, Ctrl-C, SIGTERM) leaves the
previous set of outputs whole and no temporary behind. Temporaries of ours
that a killed process (SIGKILL, power loss) left are removed the next time an
output set writes into their directory.
"""

import contextlib
import glob
import json
import os
import tempfile

import numpy as np

SUFFIX = ".scratchnet-tmp"


class OutputSet:
    """The temporaries of one stage's outputs; see ``outputs()``."""

    def __init__(self):
        self._pending = {}  # final path -> temporary path
        self._cleaned = set()

    def path(self, final):
        """A temporary path that becomes ``final`` when the set is committed."""
        final = os.path.abspath(os.fspath(final))
        if final in self._pending:
            raise ValueError(f"{final} is written twice in one output set")
        directory = os.path.dirname(final)
        os.makedirs(directory, exist_ok=True)
        if directory not in self._cleaned:
            remove_stale(directory)
            self._cleaned.add(directory)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(final)}.", suffix=SUFFIX)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
        self._pending[final] = tmp
        return tmp

    @contextlib.contextmanager
    def open(self, final, mode="w"):
        """An open file (text in UTF-8, or binary with "wb") that becomes ``final`` on commit."""
        encoding = None if "b" in mode else "utf-8"
        try:
            with open(self.path(final), mode, encoding=encoding) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
        except OSError as e:
            if e.filename is None:  # a failed write (disk full) names no file: name the output
                raise OSError(e.errno, e.strerror, final) from None
            raise

    def write_text(self, final, text):
        with self.open(final) as f:
            f.write(text)

    def write_json(self, final, obj):
        """Strict JSON (no NaN or Infinity, which JSON does not have): a ValueError names the problem."""
        self.write_text(final, dumps(obj))

    def save_npz(self, final, **arrays):
        """np.savez_compressed to ``final`` (no '.npz' is appended)."""
        with self.open(final, "wb") as f:
            np.savez_compressed(f, **arrays)

    def commit(self):
        for final, tmp in self._pending.items():
            os.replace(tmp, final)
        self._pending.clear()

    def discard(self):
        for tmp in self._pending.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        self._pending.clear()


@contextlib.contextmanager
def outputs():
    """``with outputs() as out:`` write through ``out``; all files appear at the end, or none."""
    out = OutputSet()
    try:
        yield out
    except BaseException:
        out.discard()
        raise
    out.commit()


def remove_stale(directory):
    """Remove temporaries of ours left in ``directory`` by a killed process."""
    for tmp in glob.glob(os.path.join(glob.escape(directory), f".*{SUFFIX}")):
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def dumps(obj):
    """``obj`` as strict, indented JSON text; ValueError for a NaN or infinite number."""
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def write_text(path, text):
    """One text file, atomically."""
    with outputs() as out:
        out.write_text(path, text)
