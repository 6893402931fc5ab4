"""`python -m tools.demo --model MODEL --port PORT`: serve the page (see server.py)."""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
