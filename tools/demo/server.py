"""The demo's server: the page to draw a digit on, and what the network reads of a picture.

The server (the standard library's ThreadingHTTPServer) serves three files held in memory since it
started (the page, its script and its style, from this package) and one kind of request: POST
/api/predict with the bytes of a picture (the drawing as PNG, or an uploaded photo), answered with
what inference.look finds. No path of a URL reaches the file system; the model is read once, at
start. Every request is bounded: its body (MAX_BODY, announced by Content-Length), the picture's
pixels (checked before decoding), the pictures read at once (WORKERS; more wait up to WAIT seconds,
then get 503), the connections open at once (CONNECTIONS) and how long one may stay idle (TIMEOUT).
"""

import errno
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scratchnet.base.boundary import printable
from scratchnet.base.errors import InputError, ScratchnetError

from .inference import MAX_PIXELS, look

MAX_BODY = 16 * 2**20  # bytes of one uploaded picture: a phone's photo as JPEG, with room to spare
WORKERS = 2  # pictures read at once (each may take a core and, for a large photo, a few hundred MB)
WAIT = 5.0  # seconds a request waits for a worker before it is told the server is busy
CONNECTIONS = 32  # connections served at once; one more is closed at once
TIMEOUT = 20  # seconds a connection may stay idle (a slow or stalled client lets go of its thread)
# The files of the page, by URL path: (file of this package, content type).
FILES = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/demo.js": ("page.js", "text/javascript; charset=utf-8"),
    "/demo.css": ("page.css", "text/css; charset=utf-8"),
}
SOURCES = {"drawing": "the drawing", "upload": "the uploaded picture"}  # ?from=... and how messages name it
# The page loads nothing but what this server sends: no CDN, no inline script.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def read_files():
    """{URL path: (bytes, content type)} of the page's files, read once."""
    here = Path(__file__).parent
    return {path: ((here / name).read_bytes(), kind) for path, (name, kind) in FILES.items()}


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, model, model_name):
        self.model, self.model_name = model, model_name
        self.files = read_files()
        self.workers = threading.BoundedSemaphore(WORKERS)
        self.connections = threading.BoundedSemaphore(CONNECTIONS)
        super().__init__(address, DemoHandler)
        host = self.server_address[0]
        # A page of another site may name this server by a DNS name it controls (DNS rebinding):
        # bound to the loopback, only requests that name the loopback are answered.
        self.hosts = LOOPBACK if host in LOOPBACK or host.startswith("127.") else None

    def process_request(self, request, client_address):
        if not self.connections.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: this one is closed unanswered
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def handle_error(self, request, client_address):
        """A client that went away mid-answer (a closed tab, a reader that had enough) is no error:
        nothing to print. Anything else keeps socketserver's report on standard error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def info(self):
        """What the page needs to know of the model and the limits."""
        return {
            "model": self.model_name,
            "sizes": list(self.model.sizes),
            "max_body": MAX_BODY,
            "max_pixels": MAX_PIXELS,
        }


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "scratchnet-demo"
    protocol_version = "HTTP/1.1"  # the page's stream of requests reuses its connections
    timeout = TIMEOUT

    def do_GET(self):
        if not self.host_allowed():
            return
        path = urlsplit(self.path).path
        if path == "/api/model":
            return self.reply_json(HTTPStatus.OK, self.server.info())
        if path not in self.server.files:
            return self.reply_json(HTTPStatus.NOT_FOUND, {"error": "not found: this server serves the demo page only"})
        body, kind = self.server.files[path]
        self.reply(HTTPStatus.OK, body, kind)

    def do_POST(self):
        if not self.host_allowed():
            return
        url = urlsplit(self.path)
        if url.path != "/api/predict":
            self.close_connection = True  # its body is not read
            return self.reply_json(HTTPStatus.NOT_FOUND, {"error": "not found: POST pictures to /api/predict"})
        source = parse_qs(url.query).get("from", ["upload"])
        if len(source) != 1 or source[0] not in SOURCES:
            self.close_connection = True
            return self.reply_json(HTTPStatus.BAD_REQUEST, {"error": f"from= must be one of {', '.join(SOURCES)}"})
        picture = self.read_body()
        if picture is None:
            return
        if not self.server.workers.acquire(timeout=WAIT):
            return self.reply_json(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "the server is busy reading other pictures; try again in a moment"},
                {"Retry-After": "1"},
            )
        try:
            answer = look(self.server.model, picture, SOURCES[source[0]])
        except InputError as e:
            return self.reply_json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": printable(str(e))})
        except MemoryError:
            return self.reply_json(
                HTTPStatus.SERVICE_UNAVAILABLE, {"error": "not enough memory to read this picture; send a smaller one"}
            )
        except Exception as e:  # a bug: said on the page and in the terminal, and the server goes on
            self.log_error("reading a picture failed: %r", e)
            failed = {"error": f"the server failed ({type(e).__name__}); see its terminal"}
            return self.reply_json(HTTPStatus.INTERNAL_SERVER_ERROR, failed)
        finally:
            self.server.workers.release()
        self.reply_json(HTTPStatus.OK, answer)

    def read_body(self):
        """The request's body (at most MAX_BODY bytes, as Content-Length says), or None once the
        refusal is sent."""
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None:
            self.close_connection = True
            self.reply_json(HTTPStatus.LENGTH_REQUIRED, {"error": "send the picture with a Content-Length"})
            return None
        if not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self.reply_json(HTTPStatus.BAD_REQUEST, {"error": "Content-Length must be a number of bytes"})
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is never read
            self.reply_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"the picture is {int(length):,} bytes, more than the {MAX_BODY:,} this page takes"},
            )
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):  # the client went away or stalled past TIMEOUT
            self.close_connection = True
            return None
        return body

    def host_allowed(self):
        """Whether the request's Host names the loopback (always, unless bound to the loopback);
        if not, a 403 is sent."""
        hosts = self.server.hosts
        host = urlsplit("//" + self.headers.get("Host", "")).hostname if hosts else None
        if hosts is None or host in hosts:
            return True
        self.close_connection = True
        self.reply_json(HTTPStatus.FORBIDDEN, {"error": "open the page as http://127.0.0.1:PORT/"})
        return False

    def reply_json(self, status, payload, headers=None):
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
        self.reply(status, body, "application/json", headers)

    def reply(self, status, body, kind, headers=None):
        self.send_response(status)
        for name, value in {
            "Content-Type": kind,
            "Content-Length": str(len(body)),
            "Content-Security-Policy": POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            **(headers or {}),
            **({"Connection": "close"} if self.close_connection else {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def version_string(self):
        return self.server_version  # not Python's version

    def log_request(self, code="-", size="-"):
        pass  # a person drawing sends many requests a second; only failures are worth a line

    def log_error(self, format, *args):
        sys.stderr.write(f"demo: {self.address_string()}: {format % args}\n")


def listen(host, port, model, model_name):
    """A DemoServer listening on host:port; ScratchnetError saying why it cannot."""
    try:
        return DemoServer((host, port), model, model_name)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ScratchnetError(
                f"port {port} on {host} is in use: stop what uses it or choose another (make demo PORT={port + 1})"
            ) from None
        if e.errno == errno.EACCES:
            raise ScratchnetError(f"port {port} on {host}: permission denied (choose a port above 1023)") from None
        raise ScratchnetError(f"cannot listen on {host} port {port} ({e.strerror or e}): check --host") from None
