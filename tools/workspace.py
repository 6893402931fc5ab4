"""What `make sample`, `make repro` and the sweep share about the workspace: params.yaml as flat keys,
and a dvc command run so that its output ends with the project's own line.

``run`` passes the command's output on line by line, with two of DVC's lines left out: the
warnings that a fresh clone's outputs are not in DVC's cache ("No file hash info found", one per
output: `dvc exp run` first checks the workspace out as dvc.lock says, allowing missing data, and
there is nothing to check out before the stages have made anything; one line says so), and DVC's
"ERROR: failed to reproduce" after a stage's own `error:` line, which already says what failed and
what to do. A failure is status 1 (DVC's own is 255).
"""

import subprocess


def flat(tree, prefix=""):
    """{"train.lambda": 0.001, ...} of a parsed params.yaml."""
    out = {}
    for key, value in (tree or {}).items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def run(command, who="make"):
    """Run ``command``, its output filtered as above; 0 or 1."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    said_cache = said_error = False
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("WARNING: No file hash info found for"):
            if not said_cache:
                print(f"{who}: no outputs to restore from DVC's cache yet (a fresh clone): the stages make them")
                said_cache = True
            continue
        if said_error and line.startswith("ERROR: failed to reproduce"):
            continue
        said_error = said_error or line.startswith("error: ")
        print(line, end="", flush=True)
    return 1 if proc.wait() else 0
