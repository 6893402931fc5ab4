"""`make repro`: `dvc repro`, its output ending with the project's own line (tools/workspace.py's ``run``).

python -m tools.dvc_run repro
"""

import sys

from scratchnet.base import boundary

from .workspace import run


def main():
    print(f"dvc {' '.join(sys.argv[1:])}", flush=True)
    return run(["dvc", *sys.argv[1:]])


if __name__ == "__main__":
    boundary.run(main)
