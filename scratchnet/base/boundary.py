"""The one error boundary of every entry point (the stages, predict, the tools).

Expected failures become one ``error:`` line naming the file or key and what to do,
and a documented exit code:

    0    success
    1    an ``error:`` line: bad params, arguments or input, a bad file, the machine (disk
         full, permission denied, out of memory, too many open files), divergence
    2    a usage error (argparse's own)
    130  interrupted (Ctrl-C, SIGTERM, SIGHUP): no partially written file is left behind
    141  the reader of our output went away (``... | head``): quietly

The line goes to standard error, or to standard output where standard error is closed or
full; text that an output's encoding cannot hold (a file name in the C locale) is written
with backslash escapes. Standard error carries only progress and diagnostics, a courtesy: closed
or full, it takes what it is given and drops it, so that the work goes on (and says nothing
of it but through the error line, if one comes). Standard output carries what an entry point
produces (predictions, a table, a stage's summary): writing to it closed or full is an error
like any other. Anything else is a bug in scratchnet and keeps its traceback. SIGTERM and SIGHUP
are turned into an exception like Ctrl-C, so output sets remove their temporary files; one
that lands where Python cannot raise it (a weakref callback or a finalizer, which would print
"Exception ignored" and carry on) is delivered again to the main code.
"""

import _thread
import contextlib
import errno
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from .errors import ScratchnetError

MAX_MESSAGE = 2000  # characters of one error line; a longer one is cut, saying how much

ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EDQUOT: "the disk quota is used up: free some space and run again",
    errno.EFBIG: "the file grew larger than this process may write: free space or raise the file size limit",
    errno.EACCES: "permission denied: check the permissions of the file and its directory",
    errno.EPERM: "not permitted: check the permissions of the file and its directory",
    errno.EROFS: "the file system is read-only: write the outputs somewhere writable",
    errno.ENOENT: "no such file or directory: check the path (run from the repository root)",
    errno.ENOTDIR: "a part of the path is a file, not a directory: check the path",
    errno.EISDIR: "is a directory, not a file: check the path",
    errno.EEXIST: "exists already, as a file where a directory belongs, not a directory: check the path",
    errno.EMFILE: "too many open files: close other programs or raise the limit (ulimit -n)",
    errno.ENFILE: "the system has too many open files: close other programs and run again",
    errno.EBADF: "the stream is closed: run without closing it (a `>&-`), or send it to /dev/null",
    errno.ENOMEM: "out of memory: use smaller inputs or settings, or a machine with more memory",
    errno.EIO: "an input/output error from the device: check the disk",
}


def describe_os_error(e: OSError) -> str:
    where = e.filename if e.filename is not None else "a file"
    if e.filename2 is not None:
        where = f"{where} -> {e.filename2}"
    advice = ADVICE.get(
        e.errno or 0, "the operating system refused it: check the path, permissions and free disk space"
    )
    return f"{where}: {e.strerror or e} ({advice})"


# SQLite's primary result codes that say the machine refused (DVC and DVCLive keep their state in SQLite).
SQLITE_ADVICE = {
    3: "permission denied: check the permissions of the repository's .dvc/tmp and DVC's site cache",
    5: "the database is busy: another DVC command holds it; wait for it and run again",
    6: "the database is locked: another DVC command holds it; wait for it and run again",
    7: "out of memory: close other programs, or use a machine with more memory",
    8: "a read-only database: check the permissions of the repository's .dvc/tmp and DVC's site cache",
    10: "an input/output error from the device: check the disk",
    13: "the disk is full: free some space and run again",
    14: "too many open files (raise the limit: ulimit -n), or a directory that cannot be written",
}


def describe_environment(e: BaseException) -> str | None:
    """The machine behind an exception a dependency raised on our behalf, or None (a bug: keep the
    traceback): an OSError with a known errno anywhere in its chain (its causes and contexts), or
    SQLite's refusal (sqlite3.OperationalError: too many open files, a full disk, a locked database)."""
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in ADVICE:
            return describe_os_error(cause)
        code = getattr(cause, "sqlite_errorcode", None)
        if type(cause).__module__ == "sqlite3" and isinstance(code, int) and code & 0xFF in SQLITE_ADVICE:
            advice = SQLITE_ADVICE[code & 0xFF]
            if code & 0xFF == 14 and hasattr(os, "sysconf"):
                advice = advice.replace("ulimit -n", f"ulimit -n, now {os.sysconf('SC_OPEN_MAX')}")
            return f"a dependency's SQLite database: {cause} ({advice})"
        cause = cause.__cause__ or cause.__context__
    return None


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]|\n(?!  )")


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (a file name holding a newline or a
    terminal escape stays on its line and prints as itself). A newline followed by two spaces is
    kept: that is how a message lists its problems, one per indented line."""
    return _CONTROL.sub(lambda m: "\\n" if m.group() == "\n" else f"\\x{ord(m.group()):02x}", text)


def error_line(message: object) -> str:
    message = printable(str(message))
    if len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE:,} more characters)"
    return f"error: {message}"


def say(line: str) -> bool:
    """Write ``line`` to standard error, or standard output if that fails; whether it was written."""
    # The stream underneath the boundary's standard error, even where a dependency wrapped it since
    # (DVC's colorama does): a wrapper would swallow the line as it swallows progress.
    courtesy = _courtesy[-1] if _courtesy else None
    stderr = courtesy.stream if courtesy is not None and sys.stderr is not None else sys.stderr
    for stream in (stderr, sys.stdout):
        try:
            if stream is not None:
                print(line, file=stream, flush=True)
                return True
        except (OSError, ValueError):  # closed, full, or detached
            continue
    return False


def fail(message: object, code: int = 1) -> int:
    say(error_line(message))
    return code


class _Courtesy:
    """Standard error as everything inside the boundary sees it (progress, warnings, a dependency's
    log): when the stream underneath is closed or full, writes are dropped rather than raised,
    and it is no terminal. ``stream`` is the stream underneath (None: closed at start), to which
    the error line itself is written (say)."""

    def __init__(self, stream: Any):
        self.stream, self.failed = stream, stream is None

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self.stream.write(text)
            except (OSError, ValueError):  # full, closed, or detached
                self.failed = True
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.failed = True

    def isatty(self) -> bool:
        try:
            return not self.failed and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        if self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)


_courtesy: list[_Courtesy] = []  # the boundaries entered, innermost last (tests enter them in-process)


class _ClosedStream:
    """What standard output is when the process started with it closed: writing to it is an error."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed", "<stdout>")

    def flush(self) -> None:
        pass


class _NamedStream:
    """Standard output whose write errors name it (a full disk behind it says "standard output"),
    in every other way the stream it wraps."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OSError(e.errno, e.strerror, "<stdout>") from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OSError(e.errno, e.strerror, "<stdout>") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _prepare_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")
    if not isinstance(sys.stderr, _Courtesy):
        sys.stderr = _Courtesy(sys.stderr)
    _courtesy.append(sys.stderr)
    if sys.stdout is None:
        sys.stdout = _ClosedStream()
    elif not isinstance(sys.stdout, (_NamedStream, _ClosedStream)):
        sys.stdout = _NamedStream(sys.stdout)


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush has nothing to fail on."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _redeliver(unraisable: Any) -> None:
    """sys.unraisablehook: an interrupt raised inside a callback Python cannot raise from (a
    weakref callback, ``__del__``) is raised again in the main code rather than printed and lost."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # From another thread, a moment later: raised now, it would land in this hook and be lost too.
        threading.Timer(0.01, _thread.interrupt_main, (signal.SIGTERM,)).start()
    else:
        sys.__unraisablehook__(unraisable)


def guarded(main: Callable[..., int | None], *args: Any) -> int:
    """Call ``main(*args)`` inside the boundary; return the exit code (main's own, or 0). The
    streams and hooks are as they were afterwards (the boundary may be entered in-process, as
    tests do)."""
    stdout, stderr, hook = sys.stdout, sys.stderr, sys.unraisablehook
    _prepare_streams()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
    sys.unraisablehook = _redeliver
    try:
        return _guarded(main, *args)
    finally:
        sys.stdout, sys.stderr, sys.unraisablehook = stdout, stderr, hook
        _courtesy.pop()


def _guarded(main: Callable[..., int | None], *args: Any) -> int:
    try:
        code = main(*args) or 0
        sys.stdout.flush()  # a closed or full standard output is found here, inside the boundary, not at exit
        return code
    except ScratchnetError as e:
        return fail(e)
    except MemoryError as e:
        return fail(
            f"out of memory ({e or 'an allocation failed'}): use smaller inputs or settings "
            "(train.batch_size, model.hidden_sizes) or a machine with more memory"
        )
    except BrokenPipeError:
        # Nobody reads our output any more: stop quietly, and keep the final flush quiet too.
        _quiet_stdout()
        return 141
    except OSError as e:
        if e.filename == "<stdout>":
            _quiet_stdout()
            return fail(f"standard output: {e.strerror} ({ADVICE.get(e.errno or 0, 'check where it goes')})")
        return fail(describe_os_error(e))
    except KeyboardInterrupt:
        say("interrupted: no partially written file was left behind")
        return 130
    except Exception as e:  # a dependency's own exception around the machine's refusal, or a bug
        line = describe_environment(e)
        if line is None:
            raise
        return fail(line)


def run(main: Callable[..., int | None], *args: Any) -> None:
    """The entry point of a stage or tool: ``if __name__ == "__main__": boundary.run(main)``."""
    sys.exit(guarded(main, *args))
