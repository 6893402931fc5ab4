"""What every pipeline stage shares: clean exits on bad input and on signals.

A ScratchnetError becomes one line on stderr and exit code 1. SIGTERM is turned
into an exception like Ctrl-C, so atomic writes remove their temporary files
and no partial output is left behind.
"""
import signal
import sys

from .errors import ScratchnetError


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run(main):
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except ScratchnetError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: no partially written file was left behind", file=sys.stderr)
        sys.exit(130)
