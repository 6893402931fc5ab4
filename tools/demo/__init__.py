"""`make demo` (run.py): a local page to draw a digit on (server.py), what it shows of the network
(inference.py), the page itself (page.html, page.js, page.css), and a headless Chromium driven
over the DevTools protocol (browser.py) for its test and its screenshot (screenshot.py)."""
