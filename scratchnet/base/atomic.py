"""All-or-nothing outputs: a stage's outputs appear together when it succeeds, and on any failure
the previous set stays whole, with no temporary left behind.

Every file goes to a temporary beside its target (``path``, ``open``, ``write_text``...); a
directory output is built afresh in a temporary directory beside it (``directory``), so a
file the new run does not write cannot linger from an old one; a directory that must be
written in place while the stage runs (``in_place``: DVCLive's record, which `dvc exp show`
reads live) is moved aside first and moved back if the stage fails. Nothing replaces a
previous output until everything is written: ``commit`` checks every target first (a
directory where a file belongs, a directory that cannot be written), runs the checks the
stage registered (``before_commit``: params.yaml unchanged since the stage read it), then
moves the previous outputs aside, the new ones into place, and removes the old; if a move
fails, the ones already made are undone. Temporaries a killed process (SIGKILL, power loss)
left are removed the next time an output set writes into their directory.
"""

import contextlib
import errno
import gc
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np

from .errors import DataError
from .strictjson import dumps

SUFFIX = ".scratchnet-tmp"


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


class OutputSet:
    """The temporaries of one stage's outputs; see ``outputs()``."""

    def __init__(self) -> None:
        # Two file descriptors held in reserve and let go before cleaning up, so that the cleanup
        # (a directory walk needs them) still works when the failure was running out of them.
        self._reserve = [os.open(os.devnull, os.O_RDONLY) for _ in range(2)]
        self._pending: dict[str, str] = {}  # final path -> its temporary (file or directory)
        self._in_place: dict[str, str | None] = {}  # directory written in place -> where its old self waits
        self._checks: list[Callable[[], None]] = []
        self._cleaned: set[str] = set()

    # --- registering outputs ----------------------------------------------------------------

    def _claim(self, final: str | os.PathLike) -> tuple[str, str]:
        final = os.path.abspath(os.fspath(final))
        if final in self._pending or final in self._in_place:
            raise ValueError(f"{final} is written twice in one output set")
        directory = os.path.dirname(final)
        os.makedirs(directory, exist_ok=True)
        if directory not in self._cleaned:
            remove_stale(directory)
            self._cleaned.add(directory)
        return final, directory

    def path(self, final: str | os.PathLike) -> str:
        """A temporary file path that becomes ``final`` when the set is committed."""
        final, directory = self._claim(final)
        if os.path.isdir(final):
            raise IsADirectoryError(errno.EISDIR, "is a directory where an output file belongs", final)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(final)}.", suffix=SUFFIX)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        self._pending[final] = tmp
        return tmp

    def directory(self, final: str | os.PathLike) -> str:
        """A new, empty temporary directory that replaces the directory ``final`` whole on commit."""
        final, directory = self._claim(final)
        if os.path.exists(final) and not os.path.isdir(final):
            raise NotADirectoryError(errno.ENOTDIR, "is a file where an output directory belongs", final)
        tmp = tempfile.mkdtemp(dir=directory, prefix=f".{os.path.basename(final)}.", suffix=SUFFIX)
        os.chmod(tmp, 0o777 & ~_umask())
        self._pending[final] = tmp
        return tmp

    def in_place(self, final: str | os.PathLike) -> str:
        """The directory ``final``, emptied for a writer that must write there as it goes; if the set
        is discarded, what was there before comes back."""
        final, directory = self._claim(final)
        aside = None
        if os.path.lexists(final):
            if not os.path.isdir(final):
                raise NotADirectoryError(errno.ENOTDIR, "is a file where an output directory belongs", final)
            aside = tempfile.mkdtemp(dir=directory, prefix=f".{os.path.basename(final)}.before.", suffix=SUFFIX)
            os.rmdir(aside)
            os.rename(final, aside)
        self._in_place[final] = aside
        os.makedirs(final, exist_ok=True)
        return final

    def before_commit(self, check: Callable[[], None]) -> None:
        """Run ``check`` before anything is replaced; if it raises, the set is discarded."""
        self._checks.append(check)

    @contextlib.contextmanager
    def open(self, final: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
        """An open file (text in UTF-8, or binary with "wb") that becomes ``final`` on commit."""
        encoding = None if "b" in mode else "utf-8"
        try:
            with open(self.path(final), mode, encoding=encoding) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
        except OSError as e:
            if e.filename is None:  # a failed write (disk full) names no file: name the output
                raise OSError(e.errno, e.strerror, os.fspath(final)) from None
            raise

    def write_text(self, final: str | os.PathLike, text: str) -> None:
        with self.open(final) as f:
            f.write(text)

    def write_json(self, final: str | os.PathLike, obj: Any) -> None:
        """Strict JSON (no NaN or Infinity, which JSON does not have); a DataError names the file and key."""
        try:
            text = dumps(obj)
        except ValueError as e:
            raise DataError(f"{os.fspath(final)}: {e}") from None
        self.write_text(final, text)

    def save_npz(self, final: str | os.PathLike, **arrays: Any) -> None:
        """np.savez_compressed to ``final`` (no '.npz' is appended)."""
        with self.open(final, "wb") as f:
            np.savez_compressed(f, **arrays)

    # --- committing or discarding ------------------------------------------------------------

    def commit(self) -> None:
        for final in self._pending:  # every target still what it was when claimed, and writable
            directory = os.path.dirname(final)
            if not os.access(directory, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "cannot replace an output in this directory", directory)
        for check in self._checks:
            check()
        replaced: list[tuple[str, str | None]] = []  # (final, where the previous one waits)
        try:
            for final, tmp in self._pending.items():
                aside = None
                if os.path.lexists(final):
                    aside = f"{tmp}.before"
                    os.rename(final, aside)
                replaced.append((final, aside))
                os.rename(tmp, final)
        except BaseException:
            for final, aside in reversed(replaced):  # undo: the previous outputs back in place
                with contextlib.suppress(OSError):
                    _remove(final)
                    if aside is not None:
                        os.rename(aside, final)
            raise
        self._release()
        asides = [aside for _, aside in replaced] + list(self._in_place.values())
        self._pending.clear()
        self._in_place.clear()
        for aside in asides:  # the previous outputs; one that cannot be removed now goes at the next run
            if aside is not None:
                with contextlib.suppress(OSError):
                    _remove(aside)

    def _release(self) -> None:
        for fd in self._reserve:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reserve = []

    def discard(self) -> None:
        """Remove the temporaries and put back what ``in_place`` moved aside. It never raises: it runs
        while another exception is on its way, which is the one to report."""
        self._release()
        for tmp in self._pending.values():
            with contextlib.suppress(OSError):
                _remove(tmp)
        for final, aside in self._in_place.items():
            with contextlib.suppress(OSError):
                _remove(final)
                if aside is not None:
                    os.rename(aside, final)
        self._pending.clear()
        self._in_place.clear()


@contextlib.contextmanager
def outputs() -> Iterator[OutputSet]:
    """``with outputs() as out:`` write through ``out``; all outputs appear at the end, or none."""
    out = OutputSet()
    try:
        yield out
        out.commit()
    except BaseException:
        out.discard()
        raise


def _remove(path: str) -> None:
    try:
        _remove_once(path)
    except OSError as e:
        if e.errno not in (errno.EMFILE, errno.ENFILE):
            raise
        gc.collect()  # out of file descriptors: close the files nobody refers to any more, and retry
        _remove_once(path)


def _remove_once(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def remove_stale(directory: str) -> None:
    """Remove temporaries of ours (files and directories) left in ``directory`` by a killed process."""
    for tmp in glob.glob(os.path.join(glob.escape(directory), f".*{SUFFIX}*")):
        _remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """One text file, atomically."""
    with outputs() as out:
        out.write_text(path, text)
