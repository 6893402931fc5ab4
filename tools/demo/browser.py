"""A headless Chromium driven over the Chrome DevTools Protocol, as a person uses the demo page:
pointer strokes (mouse or finger) on the pad, a file chosen for upload, what the page shows read
back, a screenshot. The demo's test and screenshot.py use it. Debian's `chromium`; the websocket
client is tornado's (a dependency of Dask distributed, in the `sweep` extra)."""

import asyncio
import base64
import itertools
import json
import math
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

# Chromium headless, quiet and on its own: no sandbox (CI runs as root), no GPU, nothing fetched
# from the network by the browser itself. The plots page's test renders with these too.
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium():
    """The path of Debian's chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def arc(cx, cy, r, start, end, steps=16):
    """Points along a circle's arc (angles in degrees, clockwise on the screen from 3 o'clock)."""
    return [
        (cx + r * math.cos(math.radians(start + (end - start) * i / steps)),
         cy + r * math.sin(math.radians(start + (end - start) * i / steps)))
        for i in range(steps + 1)
    ]  # fmt: skip


# Digits as strokes, each a list of points in fractions of the pad's width and height.
DIGITS = {
    "7": [[(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.62, 0.45), (0.5, 0.65), (0.42, 0.85)]],
    "3": [arc(0.5, 0.34, 0.16, -150, 90) + arc(0.5, 0.66, 0.17, -90, 150)],
    "1": [[(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)]],
}


class BrowserError(Exception):
    """Chromium did not start, answer, or do what it was asked."""


class Browser:
    """One headless Chromium with one page, in a fresh profile under ``directory``."""

    def __init__(self, chromium, directory, width=1280, height=800, timeout=30.0):
        from tornado.websocket import websocket_connect

        directory = Path(directory)
        profile = directory / "profile"
        profile.mkdir(parents=True)
        self.timeout = timeout
        self.log_path = directory / "chromium.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (open as long as the browser runs; close() closes it)
        self.process = subprocess.Popen(
            [
                chromium,
                *HEADLESS,
                "--hide-scrollbars",
                "--remote-debugging-port=0",  # the port it picks is in DevToolsActivePort
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        self.loop = asyncio.new_event_loop()
        self.ids = itertools.count(1)
        self.exceptions = []  # the page's uncaught JavaScript exceptions
        try:
            port = self._devtools_port(profile / "DevToolsActivePort")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as answer:
                page = next(t for t in json.load(answer) if t["type"] == "page")

            async def connect():  # tornado's future belongs to the loop running when it is made
                return await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=256 * 2**20)

            self.socket = self.loop.run_until_complete(asyncio.wait_for(connect(), timeout))
            self.call("Runtime.enable")
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, path):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(f"chromium exited with {self.process.returncode}: {self.log_tail()}")
            lines = path.read_text().split("\n") if path.exists() else []
            if len(lines) >= 2 and lines[0].isdigit():
                return int(lines[0])
            time.sleep(0.05)
        raise BrowserError(f"chromium did not open its DevTools port in {self.timeout:.0f} s: {self.log_tail()}")

    def log_tail(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def call(self, method, **params):
        """The result of one DevTools command."""
        return self.loop.run_until_complete(asyncio.wait_for(self._call(method, params), self.timeout))

    async def _call(self, method, params):
        number = next(self.ids)
        await self.socket.write_message(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = await self.socket.read_message()
            if message is None:
                raise BrowserError(f"chromium closed the DevTools connection during {method}: {self.log_tail()}")
            reply = json.loads(message)
            if reply.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(reply["params"]["exceptionDetails"])
            if reply.get("id") == number:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=None):
        """Poll the expression until it is true; BrowserError after ``timeout`` seconds."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout or self.timeout:.0f} s for {expression}")
            time.sleep(0.02)

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def box(self, selector):
        """(left, top, width, height) of an element, in CSS pixels of the viewport."""
        rect = self.evaluate(f"JSON.stringify(document.querySelector({json.dumps(selector)}).getBoundingClientRect())")
        rect = json.loads(rect)
        return rect["left"], rect["top"], rect["width"], rect["height"]

    def mouse(self, kind, x, y, buttons=1):
        """One mouse event: mousePressed, mouseMoved (with the left button down) or mouseReleased."""
        clicks = {"mouseMoved": 0}.get(kind, 1)
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons, clickCount=clicks)

    def touch(self, kind, x=None, y=None):
        """One touch event of one finger: touchStart, touchMove or touchEnd."""
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        self.call("Input.dispatchTouchEvent", type=kind, touchPoints=points)

    def draw(self, selector, strokes, finger=False, during=None):
        """Draw ``strokes`` (points in fractions of the element's box) on the element, with the
        mouse or a finger, moving in small steps as a hand does. ``during()`` is called halfway
        along the first stroke, the button (or finger) still down."""
        left, top, width, height = self.box(selector)
        for number, stroke in enumerate(strokes):
            path = [(left + fx * width, top + fy * height) for fx, fy in stroke]
            steps = [path[0]]
            for (x0, y0), (x1, y1) in itertools.pairwise(path):
                n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / 6))
                steps += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
            self.touch("touchStart", *steps[0]) if finger else self.mouse("mousePressed", *steps[0])
            for i, (x, y) in enumerate(steps[1:], 1):
                self.touch("touchMove", x, y) if finger else self.mouse("mouseMoved", x, y)
                if during is not None and number == 0 and i == len(steps) // 2:
                    during()
            self.touch("touchEnd") if finger else self.mouse("mouseReleased", *steps[-1], buttons=0)

    def choose_file(self, selector, path):
        """Choose ``path`` in a file input, as a person does in the file dialog (a change event follows)."""
        document = self.call("DOM.getDocument")
        node = self.call("DOM.querySelector", nodeId=document["root"]["nodeId"], selector=selector)
        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])

    def screenshot(self, path):
        """The whole page as PNG, beyond the window's height too."""
        width, height = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        Path(path).write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.loop.close()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
