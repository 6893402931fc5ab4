"""The user's repository as the sweep sees it: the committed state runs, the experiments come back.

Runs see only what is committed (each clones the commit), so a tree with uncommitted
changes to code is refused; what DVC writes (params.yaml after `dvc exp run -S`, dvc.lock, the
outputs) is left out of the runs, and the sweep names the params.yaml values it leaves out.
On one machine the runs clone this repository's path and write outputs into its DVC cache;
across machines they clone the git remote and push outputs to the DVC remote, and the
experiments are pulled back here at the end.
Experiment refs are DVC's documented layout, refs/exps/<sha[:2]>/<sha[2:]>/<name>.
"""

import os
import subprocess

from ruamel.yaml import YAML

from scratchnet.base.errors import ScratchnetError

TIMEOUT = 600  # seconds for one git or dvc command here (a pull of many outputs takes a while)
DVC_WRITES = ("params.yaml", "dvc.lock", "reports/", "data/")  # what `dvc exp run` and `dvc repro` change


def _run(cmd, cwd, what):
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ScratchnetError(f"`{' '.join(cmd)}` took over {TIMEOUT} s ({what})") from None
    except FileNotFoundError:
        raise ScratchnetError(f"{cmd[0]} is not installed or not on PATH ({what})") from None
    return done


def git(root, *args, what="git"):
    done = _run(["git", *args], root, what)
    if done.returncode:
        raise ScratchnetError(f"`git {' '.join(args)}` failed ({what}): {done.stderr.strip()[-800:]}")
    return done.stdout.rstrip()


def dvc(root, *args, what="dvc"):
    done = _run(["dvc", *args], root, what)
    if done.returncode:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise ScratchnetError(f"`dvc {' '.join(args)}` failed ({what}): {' / '.join(lines[-5:])[-800:]}")
    return done.stdout.strip()


def committed_state():
    """(repository root, HEAD commit, committed params.yaml parsed); one error line if unusable."""
    done = _run(["git", "rev-parse", "--show-toplevel"], None, "finding the repository")
    if done.returncode:
        raise ScratchnetError(
            f"{os.getcwd()} is not inside a git repository: run the sweep from a clone of scratchnet (make sweep)"
        )
    root = done.stdout.strip()
    if not os.path.isdir(os.path.join(root, ".dvc")):
        raise ScratchnetError(f"{root} is not a DVC repository (no .dvc/): run the sweep from a clone of scratchnet")
    head = _run(["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root, "reading HEAD")
    if head.returncode:
        raise ScratchnetError(f"{root} has no commit yet: runs clone the committed state, so commit first")
    changed = git(root, "status", "--porcelain", "--untracked-files=no", what="checking for changes").splitlines()
    # What DVC itself changes (an applied experiment's params.yaml, dvc.lock, the outputs) does not
    # stop a sweep, which runs the commit: the sweep says what it leaves out. Code changes do.
    code = [line[3:] for line in changed if not line[3:].startswith(DVC_WRITES)]
    if code:
        files = ", ".join(code[:5]) + (", ..." if len(code) > 5 else "")
        raise ScratchnetError(
            f"uncommitted changes to {files}: every run clones the committed state, so commit (or stash) them first"
        )
    text = git(root, "show", "HEAD:params.yaml", what="reading the committed params.yaml")
    return root, head.stdout.strip(), YAML(typ="safe", pure=True).load(text)


def workspace_params_left_out(root, committed):
    """ "KEY=VALUE ..." of the workspace's params.yaml values that differ from the committed ones
    (what an applied experiment or an edit left there), which the sweep's runs do not use; "" if none."""
    from ..workspace import flat

    try:
        with open(os.path.join(root, "params.yaml"), encoding="utf-8") as f:
            workspace = flat(YAML(typ="safe", pure=True).load(f))
    except (OSError, ValueError):
        return ""
    base = flat(committed)
    return " ".join(f"{key}={workspace[key]}" for key in base if key in workspace and workspace[key] != base[key])


def exp_ref(sha, name):
    return f"refs/exps/{sha[:2]}/{sha[2:]}/{name}"


def existing(target, sha, names, root):
    """The ``names`` that are experiments of ``sha`` at ``target`` already (a path or URL)."""
    listed = git(root, "ls-remote", target, f"refs/exps/{sha[:2]}/{sha[2:]}/*", what=f"listing experiments at {target}")
    have = {line.split("/")[-1] for line in listed.splitlines()}
    return [n for n in names if n in have]


def cache_dir(root):
    """The absolute DVC cache directory of this repository, which the local runs share."""
    return os.path.abspath(os.path.join(root, dvc(root, "cache", "dir", what="finding the DVC cache")))


def remote_source(root, remote, sha):
    """The URL of git remote ``remote``, checked to hold ``sha`` and to have a default DVC remote."""
    url = _run(["git", "remote", "get-url", remote], root, "reading the git remote")
    if url.returncode:
        raise ScratchnetError(
            f"no git remote {remote!r} here: workers on other machines clone it "
            f"(git remote add {remote} URL), or set another with --git-remote"
        )
    url = url.stdout.strip()
    heads = git(root, "ls-remote", url, what=f"reading git remote {remote}").splitlines()
    tips = {line.split()[0] for line in heads if line.strip()}
    if not any(_run(["git", "merge-base", "--is-ancestor", sha, tip], root, "").returncode == 0 for tip in tips):
        raise ScratchnetError(
            f"commit {sha[:7]} is not on git remote {remote} ({url}): workers clone it "
            f"from there, so push it first (git push {remote} HEAD)"
        )
    default = _run(["dvc", "remote", "default", "--project"], root, "reading the DVC remote")
    if default.returncode or not default.stdout.strip():
        raise ScratchnetError(
            "no default DVC remote in the committed .dvc/config: runs on other machines send "
            "their outputs there (dvc remote add -d NAME URL, commit .dvc/config and push)"
        )
    return url


def pull(root, remote, names):
    """Fetch the experiments ``names`` (git refs and outputs) from the remotes into this repository."""
    dvc(root, "exp", "pull", "--force", remote, *names, what=f"pulling the sweep's experiments from {remote}")
