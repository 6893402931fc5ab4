"""`python -m tools.demo.screenshot --model MODEL`: docs/img/demo.png, the demo page after a digit
is drawn on it with the mouse in headless Chromium (browser.py), as docs/demo.md shows it."""

import argparse
import tempfile
import threading

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import ScratchnetError

from .browser import DIGITS, Browser, BrowserError, find_chromium
from .inference import load_model
from .server import listen

SETTLED = "(d => d.pending === '0' && d.shown === d.version)(document.documentElement.dataset)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="data/model/model.npz", help="a model written by the train stage")
    parser.add_argument("--digit", choices=sorted(DIGITS), default="3", help="the digit drawn")
    parser.add_argument("--out", default="docs/img/demo.png")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise ScratchnetError("no chromium here: install Debian's chromium (apt-get install chromium)")
    server = listen("127.0.0.1", 0, load_model(args.model), args.model.split("/")[-1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # ignore_cleanup_errors: chromium's helpers may still be writing to the profile as it exits
        with (
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as scratch,
            Browser(chromium, scratch, width=1240, height=600) as browser,
        ):
            browser.open(f"http://127.0.0.1:{server.server_address[1]}/")
            browser.wait_for("document.documentElement.dataset.ready === 'yes'")
            browser.draw("#pad", DIGITS[args.digit])
            browser.wait_for(SETTLED)
            read = browser.evaluate("document.getElementById('digit').textContent")
            with atomic.outputs() as out:
                browser.screenshot(out.path(args.out))
    except BrowserError as e:
        raise ScratchnetError(f"chromium: {e}") from None
    finally:
        server.shutdown()
        server.server_close()
    print(f"{args.out}: the page after drawing a {args.digit}, read as {read}")


if __name__ == "__main__":
    boundary.run(main)
