"""`make demo`: the page to draw a digit on. Its server answers a picture exactly as `python -m
scratchnet predict` reads the same file, refuses what it cannot take with a message and goes on
serving, reads no file after it started, and bounds every request; a real headless Chromium draws
on the page with the mouse and a finger and reads back what `predict` says of the same pixels."""

import base64
import builtins
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from image_files import RANDOM_FILES, pictures
from PIL import Image
from pipeline_helpers import PROJECT_ROOT, run_predict

from scratchnet.base.errors import InputError
from scratchnet.predict import cli

if str(PROJECT_ROOT) not in sys.path:  # tools/ sits beside scratchnet/, outside the installed package
    sys.path.insert(0, str(PROJECT_ROOT))
from tools.demo import inference, server
from tools.demo.browser import DIGITS, Browser, find_chromium
from tools.photos import render


@pytest.fixture(scope="module")
def demo(small_model):
    """A demo server on a free port of the loopback, serving the small model from a thread."""
    model, path = small_model
    running = server.DemoServer(("127.0.0.1", 0), model, path.name)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def ask(demo, method, target, body=None, headers=None):
    """(status, headers, body) of one request to the demo server."""
    connection = http.client.HTTPConnection("127.0.0.1", demo.server_address[1], timeout=30)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post(demo, picture, source="upload"):
    """(status, the JSON answer) for a picture's bytes."""
    status, _, body = ask(demo, "POST", f"/api/predict?from={source}", picture)
    return status, json.loads(body)


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def drawn(sample, index=0):
    """A test digit of the sample as a person draws it on the page: black on white, large."""
    pixels = sample.part("test", scaled=False)[0][index].reshape(28, 28)
    big = Image.fromarray(255 - pixels).resize((280, 280), Image.BILINEAR)
    return png(big)


def serves_the_page(demo):
    status, _, body = ask(demo, "GET", "/")
    return status == 200 and b"/demo.js" in body


# --- what a picture is read as ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drawing", "photo"])
def test_a_picture_is_read_as_predict_reads_the_same_file(demo, small_model, sample, tmp_path, kind):
    model, model_path = small_model
    X = sample.part("test", scaled=False)[0]
    pictures_ = [drawn(sample, i) if kind == "drawing" else render(X[i], "phone", 0, i) for i in range(3)]
    for i, picture in enumerate(pictures_):
        (tmp_path / f"{i}.img").write_bytes(picture)
    done = run_predict("--model", model_path, "--json", "--show", tmp_path / "seen", *sorted(tmp_path.glob("*.img")))
    assert done.returncode == 0, done.stderr
    for i, (picture, line) in enumerate(zip(pictures_, done.stdout.splitlines())):
        status, answer = post(demo, picture, "drawing" if kind == "drawing" else "upload")
        said = json.loads(line)
        assert status == 200, answer
        assert answer["digit"] == said["digit"]
        np.testing.assert_allclose(answer["probabilities"], said["probabilities"], atol=1e-6)  # predict rounds
        seen = np.asarray(Image.open(tmp_path / "seen" / f"{i}.png"))[:: cli.SHOW_SCALE, :: cli.SHOW_SCALE]
        np.testing.assert_array_equal(np.reshape(answer["pixels"], (28, 28)), seen)


def test_the_hidden_layers_shown_are_the_networks_own(demo, sample):
    model = demo.model
    status, answer = post(demo, drawn(sample, 1), "drawing")
    assert status == 200
    X = (np.asarray(answer["pixels"], np.float32) / 255)[np.newaxis]
    assert [len(layer) for layer in answer["hidden"]] == list(model.sizes[1:-1])
    for layer, shown in enumerate(answer["hidden"]):
        np.testing.assert_allclose(shown, model.activations(X, layer)[0], atol=1e-4)
    first = np.asarray(answer["hidden"][0])
    units = [feature["unit"] for feature in answer["features"]]
    assert 0 < len(units) <= inference.FEATURES
    assert sorted(first[units], reverse=True) == list(first[units]) and first[units[-1]] >= np.sort(first)[-len(units)]
    for feature in answer["features"]:
        column = model.weights[0][:, feature["unit"]]
        np.testing.assert_allclose(feature["weights"], column / np.abs(column).max() * 127, atol=0.5)


# --- what it refuses, and that it goes on -----------------------------------------------------


def png_claiming(width, height):
    """A PNG whose header says width x height gray pixels, with no pixel data."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


BAD_UPLOADS = [
    (b"not an image", "the uploaded picture: not an image file Pillow can read"),
    (b"", "the uploaded picture: not an image file Pillow can read"),
    (png(Image.new("L", (60, 60), 255)), "the uploaded picture: no digit found"),
    (png(Image.new("L", (60, 60), 255))[:60], "the uploaded picture: the image cannot be decoded"),
    # Larger than the page takes, refused from the header, before a pixel is decoded.
    (png_claiming(5000, 4000), f"5000 x 4000 pixels is more than the {inference.MAX_PIXELS:,} pixels this reads"),
]


@pytest.mark.parametrize("picture, words", BAD_UPLOADS, ids=[w[21:60] for _, w in BAD_UPLOADS])
def test_a_bad_upload_gets_a_message_and_the_server_goes_on(demo, sample, picture, words):
    status, answer = post(demo, picture)
    assert status == 422 and words in answer["error"] and "\n" not in answer["error"], answer
    assert serves_the_page(demo)
    assert post(demo, drawn(sample), "drawing")[0] == 200


def test_an_oversize_body_is_refused_unread(demo):
    with socket.create_connection(demo.server_address, timeout=10) as connection:
        connection.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Length: {server.MAX_BODY + 1}\r\n\r\n".encode()
            + b"x" * 1000
        )
        started = time.monotonic()
        reply = b""
        while chunk := connection.recv(65536):  # the server answers and closes without waiting for the body
            reply += chunk
    assert time.monotonic() - started < 5
    assert reply.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in reply, reply[:300]
    assert f"more than the {server.MAX_BODY:,} this page takes".encode() in reply
    assert serves_the_page(demo)


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Transfer-Encoding": "chunked"}, 411),
        ({"Content-Length": "-5"}, 400),
        ({"Content-Length": "12abc"}, 400),
    ],
)
def test_a_body_without_a_usable_length_is_refused(demo, headers, status):
    with socket.create_connection(demo.server_address, timeout=10) as connection:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall(f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        reply = connection.recv(65536)
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:200]
    assert serves_the_page(demo)


TRAVERSALS = [
    "/nothing",
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "//etc/passwd",
    "/page.html",
    "/server.py",
    "/demo.js/../server.py",
    "/tools/demo/server.py",
    "/..%2fserver.py",
    "/.%00./server.py",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_unknown_paths_are_not_found_and_no_path_reaches_the_file_system(demo, target):
    status, _, body = ask(demo, "GET", target)
    assert status == 404, body
    assert b"root:" not in body and b"import" not in body
    assert ask(demo, "POST", target, b"x")[0] == 404


def test_the_server_reads_no_file_once_started(demo, sample, monkeypatch):
    photo = render(sample.part("test", scaled=False)[0][0], "phone", 0, 0)
    assert post(demo, photo)[0] == 200  # the photo's code (SciPy) imported before the file system closes

    def refused(*args, **kwargs):
        raise AssertionError(f"the server opened a file: {args}")

    monkeypatch.setattr(builtins, "open", refused)
    monkeypatch.setattr(io, "open", refused)
    for target in ("/", "/demo.js", "/demo.css", "/api/model"):
        assert ask(demo, "GET", target)[0] == 200
    assert post(demo, drawn(sample), "drawing")[0] == 200
    assert post(demo, photo)[0] == 200


def test_the_page_loads_nothing_from_elsewhere(demo):
    status, headers, page = ask(demo, "GET", "/")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    for target in ("/", "/demo.js", "/demo.css"):
        text = ask(demo, "GET", target)[2].decode()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, target
    assert b'<script src="/demo.js"' in page and b"<script>" not in page
    info = json.loads(ask(demo, "GET", "/api/model")[2])
    assert info["sizes"] == list(demo.model.sizes) and info["max_body"] == server.MAX_BODY


def test_a_request_naming_another_host_is_refused(demo):
    status, _, body = ask(demo, "GET", "/", headers={"Host": "attacker.example:8000"})
    assert status == 403 and b"127.0.0.1" in body
    assert ask(demo, "GET", "/", headers={"Host": f"localhost:{demo.server_address[1]}"})[0] == 200


def test_a_bad_source_is_refused(demo, sample):
    status, _, body = ask(demo, "POST", "/api/predict?from=disk", drawn(sample))
    assert status == 400 and b"drawing, upload" in body


def test_pictures_wait_for_a_worker_and_then_hear_the_server_is_busy(demo, sample, monkeypatch):
    monkeypatch.setattr(server, "WAIT", 0.2)
    for _ in range(server.WORKERS):
        demo.workers.acquire()
    try:
        status, headers, body = ask(demo, "POST", "/api/predict?from=drawing", drawn(sample))
    finally:
        for _ in range(server.WORKERS):
            demo.workers.release()
    assert status == 503 and headers["Retry-After"] == "1" and b"busy" in body
    assert post(demo, drawn(sample), "drawing")[0] == 200


def test_connections_beyond_the_bound_are_closed(demo, monkeypatch):
    held = [socket.create_connection(demo.server_address, timeout=10) for _ in range(server.CONNECTIONS)]
    try:
        for connection in held:  # each is being served: its thread holds a slot
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert connection.recv(12) == b"HTTP/1.1 200"
        with socket.create_connection(demo.server_address, timeout=10) as extra:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert extra.recv(100) == b""  # closed unanswered
    finally:
        for connection in held:
            connection.close()
    deadline = time.monotonic() + 10
    while not serves_the_page(demo):  # the slots come back as the server notices the closed connections
        assert time.monotonic() < deadline
        time.sleep(0.05)


# --- generated bodies and requests (Hypothesis) -----------------------------------------------


@given(st.one_of(pictures(), RANDOM_FILES))
def test_any_upload_is_answered_as_predict_answers_the_same_file(demo, tmp_path_factory, generated):
    # The page sends bytes without a name: predict reads the same bytes as a picture (a name ending
    # in .npy would make it read them as an array).
    path = tmp_path_factory.mktemp("upload") / "upload.img"
    path.write_bytes(generated.data)
    try:
        [(_, _, expected)] = cli.predict_input(demo.model, str(path))
    except InputError as e:
        expected = e
    status, answer = post(demo, generated.data)
    if isinstance(expected, InputError):
        assert status == 422 and answer["error"].startswith("the uploaded picture: "), (status, answer)
        assert "\n" not in answer["error"]
    elif status == 422:  # only the page's tighter pixel bound may refuse what predict reads
        assert f"pixels is more than the {inference.MAX_PIXELS:,}" in answer["error"], answer
    else:
        assert status == 200, answer
        assert answer["digit"] == int(expected.argmax())
        np.testing.assert_array_equal(answer["probabilities"], expected.astype(np.float64))
    assert serves_the_page(demo)


METHODS = st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "get", "POST /x", ""])
TARGETS = st.sampled_from(["/", "/api/predict", "/api/predict?from=drawing", "/api/model", "/../x", "*", ""])
HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["Content-Length", "Transfer-Encoding", "Host", "Connection", "Expect", "X"]),
        st.one_of(
            st.sampled_from(["0", "5", "100", "99999999999", "-1", "chunked", "close", "100-continue"]),
            st.text(max_size=10),
        ),
    ),
    max_size=4,
)


@given(METHODS, TARGETS | st.text(max_size=30), HEADERS, st.binary(max_size=300))
def test_any_request_is_answered_or_closed_and_the_server_goes_on(demo, method, target, headers, body):
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    request = f"{method} {target} HTTP/1.1\r\n{head}\r\n".encode("utf-8", "surrogateescape") + body
    with socket.create_connection(demo.server_address, timeout=15) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)  # the server sees the end of what it may read
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    # An answer with its status line, or none (the connection closed). A request line of other than
    # three words is HTTP/0.9's (two) or malformed: answered as HTTP/0.9 is, without a status line.
    first_line = request.split(b"\n")[0].decode("iso-8859-1").rstrip("\r\n")  # as http.server reads it
    if len(first_line.split()) == 3:
        assert reply == b"" or reply.startswith(b"HTTP/1."), reply[:200]
    else:
        assert reply == b"" or b"<p>Error code: 400</p>" in reply or reply.startswith(b'{"error":'), reply[:200]
    assert b"Traceback" not in reply
    assert serves_the_page(demo)


# --- the entry point --------------------------------------------------------------------------


def start_demo(*argv):
    """`python -m tools.demo.run ARGV` started from the project's root; (process, its first line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.demo.run", *map(str, argv)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline()


def test_the_demo_starts_serves_and_stops(small_model):
    process, line = start_demo("--model", small_model[1], "--port", "0")
    try:
        assert line.startswith("demo: http://127.0.0.1:") and "784-128-10" in line, line + process.stderr.read()
        url = line.split()[1]
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert c.recv(12) == b"HTTP/1.1 200"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and "demo: stopped" in out and err == "", err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--model", "no/such/model.npz"], "no/such/model.npz: no such model file"),
        (["--model", "README.md"], "README.md: not a readable .npz model file"),
        (["--host", "no.such.host.invalid"], "cannot listen on no.such.host.invalid port 0"),
    ],
)
def test_what_the_demo_cannot_use_is_one_error_line(small_model, argv, words):
    argv = ["--model", small_model[1], "--port", "0", *argv]
    done = subprocess.run(
        [sys.executable, "-m", "tools.demo.run", *map(str, argv)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr.count("error: ") == 1 and words in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_port_in_use_is_one_error_line(small_model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tools.demo.run", "--model", str(small_model[1]), "--port", str(port)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and done.stderr.count("error: ") == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_port_is_a_usage_error(small_model):
    done = subprocess.run(
        [sys.executable, "-m", "tools.demo.run", "--model", str(small_model[1]), "--port", "70000"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "is not a port number" in done.stderr


# --- a person at the page: headless Chromium ----------------------------------------------------

SETTLED = "(d => d.pending === '0' && d.shown === d.version)(document.documentElement.dataset)"
READ_PAGE = """JSON.stringify({
  digit: document.getElementById("digit").textContent,
  probabilities: [...document.querySelectorAll("#bars .bar")].map((row) => row.dataset.p),
  seen: [...document.getElementById("seen").getContext("2d").getImageData(0, 0, 28, 28).data]
    .filter((_, i) => i % 4 === 0),
  message: document.getElementById("message").textContent,
  layers: document.querySelectorAll("#layers canvas").length,
  features: document.querySelectorAll("#features canvas").length,
})"""


def test_a_person_draws_a_digit_and_the_page_reads_it_as_predict_does(small_model, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium here to draw on the page (CI installs Debian's chromium)")
    pytest.importorskip("tornado", reason="the DevTools websocket client is tornado's (Dask distributed's)")
    model, model_path = small_model
    process, line = start_demo("--model", model_path, "--port", "0")
    try:
        assert line.startswith("demo: http://"), line + process.stderr.read()
        with Browser(chromium, tmp_path / "browser") as browser:
            browser.open(line.split()[1])
            browser.wait_for("document.documentElement.dataset.ready === 'yes'")

            # As they draw: answers arrive while the button is still down, halfway along the stroke.
            def while_drawing():
                browser.wait_for("+document.documentElement.dataset.answersWhileDrawing >= 1", 15)
                shown = browser.evaluate(
                    "[document.getElementById('digit').textContent, document.getElementById('message').textContent]"
                )
                assert shown[0] in "0123456789", shown

            browser.draw("#pad", DIGITS["7"], during=while_drawing)
            browser.wait_for(SETTLED)
            answered = int(browser.evaluate("document.documentElement.dataset.answers"))
            browser.draw("#pad", [[(0.35, 0.5), (0.65, 0.5)]], finger=True)  # the 7's bar, with a finger
            browser.wait_for(SETTLED)
            assert int(browser.evaluate("document.documentElement.dataset.answers")) > answered
            page = json.loads(browser.evaluate(READ_PAGE))
            drawing = browser.evaluate("document.getElementById('pad').toDataURL('image/png')")

            # What predict says of the pixels the page shows, and of the very picture the page sent.
            seen = np.array(page["seen"], np.uint8).reshape(28, 28)
            np.save(tmp_path / "seen.npy", seen)
            (tmp_path / "drawing.png").write_bytes(base64.b64decode(drawing.split(",", 1)[1]))
            done = run_predict(
                "--model",
                model_path,
                "--json",
                "--show",
                tmp_path / "shown",
                tmp_path / "seen.npy",
                tmp_path / "drawing.png",
            )
            assert done.returncode == 0, done.stderr
            said = [json.loads(line) for line in done.stdout.splitlines()]
            assert page["digit"] == str(said[0]["digit"]) == str(said[1]["digit"])
            probabilities = [float(p) for p in page["probabilities"]]
            np.testing.assert_allclose(probabilities, said[0]["probabilities"], atol=1e-6)
            np.testing.assert_allclose(probabilities, said[1]["probabilities"], atol=1e-6)
            shown = np.asarray(Image.open(tmp_path / "shown" / "drawing.png"))[:: cli.SHOW_SCALE, :: cli.SHOW_SCALE]
            np.testing.assert_array_equal(seen, shown)
            assert page["layers"] == len(model.sizes) - 2 and page["features"] > 0 and page["message"] == ""

            # A bad upload: a message on the page, and the server goes on reading pictures.
            (tmp_path / "bad.png").write_bytes(b"this is not a picture")
            browser.choose_file("#upload", tmp_path / "bad.png")
            browser.wait_for("document.getElementById('message').textContent !== ''")
            page = json.loads(browser.evaluate(READ_PAGE))
            assert "the uploaded picture: not an image file Pillow can read" in page["message"], page["message"]
            assert page["digit"] == "?"
            browser.choose_file("#upload", tmp_path / "drawing.png")
            browser.wait_for(f"document.getElementById('digit').textContent === '{said[1]['digit']}'")
            assert json.loads(browser.evaluate(READ_PAGE))["message"] == ""
            assert browser.exceptions == [], browser.exceptions
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == "", err
    assert os.path.exists(tmp_path / "shown" / "drawing.png")
