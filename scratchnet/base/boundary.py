"""The one error boundary of every entry point (the stages, predict, the tools).

Expected failures become one ``error:`` line on stderr naming the file or key
and what to do, and a documented exit code:

    0    success
    1    an ``error:`` line: bad params or input, a bad file, the machine (disk full,
         permission denied, out of memory), divergence
    2    a usage error (argparse's own)
    130  interrupted (Ctrl-C, SIGTERM): no partially written file is left behind
    141  the reader of our output went away (``... | head``): quietly

Anything else is a bug in scratchnet and keeps its traceback. SIGTERM is turned
into an exception like Ctrl-C, so output sets remove their temporary files.
"""

import errno
import os
import signal
import sys

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
}


def describe_os_error(e):
    where = e.filename if e.filename is not None else "a file"
    if e.filename2 is not None:
        where = f"{where} -> {e.filename2}"
    advice = ADVICE.get(e.errno, "the operating system refused it: check the path, permissions and free disk space")
    return f"{where}: {e.strerror or e} ({advice})"


def error_line(message):
    message = str(message)
    if len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE:,} more characters)"
    return f"error: {message}"


def fail(message, code=1):
    print(error_line(message), file=sys.stderr)
    return code


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def guarded(main, *args):
    """Call ``main(*args)`` inside the boundary; return the exit code (main's own, or 0)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return main(*args) or 0
    except ScratchnetError as e:
        return fail(e)
    except MemoryError as e:
        return fail(
            f"out of memory ({e or 'an allocation failed'}): use smaller inputs or settings "
            "(train.batch_size, model.hidden_sizes) or a machine with more memory"
        )
    except BrokenPipeError:
        # Nobody reads our output any more: stop quietly, and keep the final flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        return fail(describe_os_error(e))
    except KeyboardInterrupt:
        print("interrupted: no partially written file was left behind", file=sys.stderr)
        return 130


def run(main, *args):
    """The entry point of a stage or tool: ``if __name__ == "__main__": stage.run(main)``."""
    sys.exit(guarded(main, *args))
