"""`python -m scratchnet COMMAND`: the library's command line (one command so far: predict)."""

import sys

from .base import dependencies

dependencies.explain_missing()  # before anything imports NumPy or Pillow: a plain shell gets one line

from .predict import cli as predict  # noqa: E402

COMMANDS = {"predict": predict.main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m scratchnet {{{','.join(COMMANDS)}}} ... (try `python -m scratchnet predict -h`)")
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
