"""`make plots`: DVC's plots as one HTML page that needs no network.

`dvc plots show` writes HTML that loads Vega, Vega-Lite and vega-embed from a
CDN unless it is given a template (``--html-template``). This tool writes such
a template with the three libraries inlined from the installed PyPI package
vl-convert-python (``vl_convert.javascript_bundle``; the optional extra
``plots``) into ``.dvc/tmp/`` (DVC's own ignored scratch space, never committed),
then runs `dvc plots show` (or `dvc plots diff REV...` to overlay experiments).

How the page works: dvc-render fills ``{plot_divs}`` with one div per plot,
each with an inline script that calls ``vegaEmbed`` while the page is parsed.
The bundle is an ES module, which runs after parsing, so a small classic script
first installs a ``vegaEmbed`` that queues the calls; the module then swaps in
the real one, replays the queue and sets ``data-plots-rendered="ok/total"`` on
<html>. ``{scripts}`` is left out on purpose: dvc-render would fill it with CDN tags.
"""

import argparse
import json
import os
import subprocess
import sys

from scratchnet.base import atomic, boundary
from scratchnet.base.errors import ScratchnetError

TEMPLATE = os.path.join(".dvc", "tmp", "plots_template.html")
# What the workspace's plots are drawn from (dvc.yaml's plots): without them the charts would be empty.
NEEDED = ("reports/live/plots/metrics/train/loss.tsv", "reports/predictions.csv")
# dvc-render's templates declare Vega-Lite v5; bundling a 5.x avoids a version warning per chart.
VEGA_LITE = "5.21"
EMBED_OPTIONS = {"actions": {"export": True, "source": False, "compiled": False, "editor": False}}

SNIPPET = """
const embedOptions = %s;
const realEmbed = (el, spec, opts) => vegaEmbed(el, spec, Object.assign({}, embedOptions, opts || {}));
window.vega = vega;
window.vegaLite = vegaLite;
const pending = window.__vegaEmbedQueue || [];
window.vegaEmbed = realEmbed;
window.__vegaEmbedQueue = null;
Promise.allSettled(pending.map(([el, spec, opts]) => realEmbed(el, spec, opts))).then((results) => {
  let ok = 0;
  for (const r of results) {
    if (r.status === "fulfilled") ok += 1;
    else console.error("vegaEmbed failed:", r.reason);
  }
  document.documentElement.dataset.plotsRendered = ok + "/" + results.length;
});
""" % json.dumps(EMBED_OPTIONS)

STUB = """
window.__vegaEmbedQueue = [];
window.vegaEmbed = function (el, spec, opts) { window.__vegaEmbedQueue.push([el, spec, opts]); };
"""

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>scratchnet: DVC plots</title>
<!-- Vega %(vega)s, Vega-Lite %(vl)s and vega-embed %(embed)s inlined from vl-convert-python:
     a generated file (make plots), never committed -->
<script>%(stub)s</script>
<script type="module">
%(bundle)s
</script>
<style>
  body { font-family: sans-serif; }
  body > div { display: inline-block; vertical-align: top; margin: 8px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def template():
    """The offline template's HTML text."""
    try:
        import vl_convert
    except ImportError:
        raise ScratchnetError(
            "vl-convert-python is not installed; `make plots` installs it (pip install -e '.[plots]')"
        ) from None
    bundle = vl_convert.javascript_bundle(SNIPPET, vl_version=VEGA_LITE)
    for marker in ("{plot_divs}", "{scripts}", "{refresh_tag}", "</script"):
        if marker in bundle.lower():
            raise ScratchnetError(f"vl-convert's bundle contains {marker!r}; it cannot be inlined safely")
    return PAGE % {
        "vega": vl_convert.get_vega_version(),
        "vl": VEGA_LITE,
        "embed": vl_convert.get_vega_embed_version(),
        "stub": STUB,
        "bundle": bundle,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "revs",
        nargs="*",
        help="experiments or commits to overlay (`dvc plots diff`); none: the workspace (`dvc plots show`)",
    )
    parser.add_argument("--out", default="reports/plots", help="directory for index.html")
    args = parser.parse_args()
    if not os.path.isdir(".dvc"):
        raise ScratchnetError("not at the root of a DVC repository: run it from your scratchnet clone's top folder")
    missing = [path for path in NEEDED if not os.path.isfile(path)]
    if missing and not args.revs:
        raise ScratchnetError(
            f"nothing to plot yet ({', '.join(missing)} missing): run the pipeline first (`make sample` or `dvc repro`)"
        )

    os.makedirs(os.path.dirname(TEMPLATE), exist_ok=True)
    with open(TEMPLATE, "w", encoding="utf-8") as f:
        f.write(template())
    dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
    command = ["plots", "diff", *args.revs] if args.revs else ["plots", "show"]
    with atomic.outputs() as out:  # the previous page stays until the new one is whole
        page = out.directory(args.out)
        done = subprocess.run([dvc, *command, "--html-template", TEMPLATE, "-o", page], capture_output=True, text=True)
        if done.returncode or not os.path.isfile(os.path.join(page, "index.html")):
            said = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            said = [line for line in said if not line.startswith(("Having any troubles?", "<http"))]
            hint = " (REVS names experiments or commits: `make exps` lists them)" if args.revs else ""
            raise ScratchnetError(f"`dvc {' '.join(command)}` failed: {' / '.join(said[-4:]) or 'no message'}{hint}")
    print(f"plots: {os.path.join(args.out, 'index.html')} (offline: Vega inlined, no CDN)")


if __name__ == "__main__":
    boundary.run(main)
