"""What a Dask worker runs for one grid point: clone, `dvc exp run -n NAME -S ...`, `dvc exp push`.

Standard library only: `tools/sweep/cluster.py` ships this module's functions to the workers by
value (cloudpickle), so a worker needs git, and dvc with the project's dependencies in its
Python environment, but neither this repository nor `tools` importable.

Every command runs under a small supervisor in its own process group, which the
worker's death (Linux: PR_SET_PDEATHSIG), the run's timeout or ``stop_sweep`` kills
whole: no `dvc` or training process outlives the task that started it. The task's
files live in <tmp>/scratchnet-sweep/<sweep id>/<experiment>.*/ and are removed after.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LOG_TAIL = 6000  # characters of a run's log sent back with its result

# argv: worker pid, command...: dies with the worker, and takes its process group along.
SUPERVISOR = """
import ctypes, os, signal, subprocess, sys
signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    os.killpg(0, signal.SIGKILL)
sys.exit(subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL))
"""


class _Stop(Exception):
    """A step failed: (state, message)."""


def sweep_dir(sweep_id):
    return os.path.join(tempfile.gettempdir(), "scratchnet-sweep", sweep_id)


def _start_time(pid):
    """The process's start time (Linux), so a recorded pid is never mistaken for a reused one."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _kill_recorded(workdir):
    """Kill the process group recorded in ``workdir``, if it is still the same processes."""
    try:
        with open(os.path.join(workdir, "pgid")) as f:
            pid, started = f.read().split()
        if _start_time(int(pid)) == started:
            os.killpg(int(pid), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def stop_sweep(sweep_id):
    """On every worker (``Client.run``): kill this sweep's commands and remove its files."""
    directory = sweep_dir(sweep_id)
    for workdir in glob.glob(os.path.join(directory, "*")):
        _kill_recorded(workdir)
    shutil.rmtree(directory, ignore_errors=True)
    return socket.gethostname()


def _call(cmd, workdir, env, log, timeout, cwd=None):
    """Run ``cmd`` under the supervisor, output appended to ``log``; _Stop unless it exits 0."""
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(os.getpid()), *cmd],
        cwd=cwd or workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    record = os.path.join(workdir, "pgid")
    with open(record, "w") as f:
        f.write(f"{proc.pid} {_start_time(proc.pid)}")
    try:
        code = proc.wait(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise _Stop("Timed out", f"`{' '.join(cmd[:3])}` still running after {timeout:.0f} s: killed") from None
    finally:
        if os.path.exists(record):  # stop_sweep may have removed the run's directory
            os.remove(record)
    if code:
        raise _Stop("Failed", f"`{' '.join(cmd[:3])}` exited with {code}")


def _remote_ref(git, target, ref, env):
    """The commit ``ref`` names in the repository at ``target`` (a path or URL), or None."""
    done = subprocess.run(
        [git, "ls-remote", target, ref], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300
    )
    if done.returncode:
        raise _Stop("Error", f"`git ls-remote {target}` failed: {done.stderr.strip()[-500:]}")
    return done.stdout.split()[0] if done.stdout.strip() else None


def _env(workdir, threads):
    env = dict(os.environ)
    # `python` in dvc.yaml and `dvc` are the worker's own (its venv); DVC's state per clone, removed after.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["DVC_SITE_CACHE_DIR"] = os.path.join(workdir, "dvc-site")
    env["DVC_NO_ANALYTICS"] = "1"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def _identity(git, clone, env):
    """A git identity for the experiment's commit where the worker has none (a fresh cluster node)."""
    known = subprocess.run([git, "config", "user.email"], cwd=clone, env=env, capture_output=True).returncode == 0
    if not known and "GIT_AUTHOR_EMAIL" not in env:
        env.update(
            GIT_AUTHOR_NAME="scratchnet sweep",
            GIT_AUTHOR_EMAIL=f"sweep@{socket.gethostname()}",
            GIT_COMMITTER_NAME="scratchnet sweep",
            GIT_COMMITTER_EMAIL=f"sweep@{socket.gethostname()}",
        )


def run_point(spec):
    """One grid point as a DVC experiment pushed to ``spec["target"]``; a result dict, never an exception.

    spec: sweep_id, name, overrides (``-S`` values), sha, source (git path/URL to clone),
    target (where `dvc exp push` sends it), cache_dir (the user's DVC cache on this machine, or
    None: outputs go to the committed default DVC remote), threads, timeout (seconds for the run).
    """
    started, host = time.monotonic(), socket.gethostname()
    result = {"name": spec["name"], "host": host, "log": "", "message": ""}
    ref = f"refs/exps/{spec['sha'][:2]}/{spec['sha'][2:]}/{spec['name']}"
    directory = sweep_dir(spec["sweep_id"])
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, glob.escape(spec["name"]) + ".*")):
        _kill_recorded(stale)  # an earlier attempt on this machine, whose worker died
        shutil.rmtree(stale, ignore_errors=True)
        result["retried"] = True
    workdir = tempfile.mkdtemp(prefix=spec["name"] + ".", dir=directory)
    env, git, dvc = _env(workdir, spec["threads"]), shutil.which("git") or "git", "dvc"
    deadline = started + spec["timeout"]
    clone = os.path.join(workdir, "repo")
    try:
        with open(os.path.join(workdir, "log.txt"), "w+") as log:
            try:
                if _remote_ref(git, spec["target"], ref, env):
                    # Only an earlier attempt of this sweep can have pushed it (names are checked
                    # before the sweep starts): the worker died after the push. Reuse, never duplicate.
                    result.update(state="Success", message="pushed by an earlier attempt")
                    return result
                _call(
                    [git, "clone", "--quiet", "--no-checkout", spec["source"], clone],
                    workdir,
                    env,
                    log,
                    deadline - time.monotonic(),
                )
                _call(
                    [git, "checkout", "--quiet", "--detach", spec["sha"]],
                    workdir,
                    env,
                    log,
                    deadline - time.monotonic(),
                    cwd=clone,
                )
                _identity(git, clone, env)
                if spec["cache_dir"]:
                    # The user's DVC cache as this clone's default remote: the run keeps a private
                    # cache (concurrent runs sharing one cache race in DVC's commit/relink), pulls
                    # the committed outputs from it and pushes its own outputs into it.
                    _call(
                        [dvc, "remote", "add", "--local", "--default", "--force", "sweep-cache", spec["cache_dir"]],
                        workdir,
                        env,
                        log,
                        deadline - time.monotonic(),
                        cwd=clone,
                    )
                run = [dvc, "exp", "run", "--pull", "--name", spec["name"]]
                _call(
                    run + [a for o in spec["overrides"] for a in ("-S", o)],
                    workdir,
                    env,
                    log,
                    deadline - time.monotonic(),
                    cwd=clone,
                )
                local = subprocess.run(
                    [git, "rev-parse", "--verify", "--quiet", ref], cwd=clone, env=env, capture_output=True, text=True
                ).stdout.strip()
                if not local:
                    raise _Stop("Error", f"`dvc exp run` made no experiment {spec['name']}")
                # --force: an earlier attempt may have pushed in between; it is replaced, not doubled.
                _call(
                    [dvc, "exp", "push", "--force", spec["target"], spec["name"]],
                    workdir,
                    env,
                    log,
                    max(deadline - time.monotonic(), 300),
                    cwd=clone,
                )
                if _remote_ref(git, spec["target"], ref, env) != local:
                    raise _Stop("Error", f"`dvc exp push` did not deliver {spec['name']} to {spec['target']}")
                result.update(state="Success")
            except _Stop as stop:
                result.update(state=stop.args[0], message=stop.args[1])
            except subprocess.TimeoutExpired as e:
                result.update(state="Timed out", message=f"`{e.cmd[1]} {e.cmd[2]}` took over {e.timeout:.0f} s")
            log.seek(0)
            result["log"] = log.read()[-LOG_TAIL:]
    except OSError as e:
        result.update(state="Error", message=f"{e.filename or 'the run directory'}: {e.strerror or e}")
    finally:
        result["seconds"] = time.monotonic() - started
        shutil.rmtree(workdir, ignore_errors=True)
    return result
