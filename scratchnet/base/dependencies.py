"""One `error:` line, not a traceback, when an entry point runs in a Python without the project's packages.

`python3 -m scratchnet predict ...` in a plain shell, outside the clone's `.venv`, would end in
``ModuleNotFoundError: No module named 'PIL'``. Every entry point (``python -m scratchnet``, the
stages, the tools) calls ``explain_missing()`` before importing anything else, so such an error
that nothing catches prints one line saying how to get the packages, and the exit status is 1.
The standard library only: it runs before NumPy is known to be there.
"""

import os
import sys

# top-level module -> the distribution that provides it (pyproject.toml's dependencies and extras)
PACKAGES = {
    "numpy": "numpy",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "threadpoolctl": "threadpoolctl",
    "pandas": "pandas",
    "matplotlib": "matplotlib",
    "dvc": "dvc",
    "dvclive": "dvclive",
    "scmrepo": "dvc",
    "ruamel": "ruamel.yaml",
    "yaml": "PyYAML",
    "mlxtend": "mlxtend",
    "distributed": "distributed",
    "dask": "dask",
    "bokeh": "bokeh",
    "torch": "torch",
    "vl_convert": "vl-convert-python",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


def message(error):
    """The line for a ModuleNotFoundError of one of the project's packages, or None for any other."""
    top = (getattr(error, "name", None) or "").split(".")[0]
    if top == "scratchnet":
        what = "the scratchnet package"
    elif top in PACKAGES:
        what = PACKAGES[top] if PACKAGES[top] == top else f"{PACKAGES[top]} (module {top})"
    else:
        return None
    here = os.path.isfile("Makefile") and os.path.isdir("scratchnet")
    advice = (
        "run `make setup`, then `. .venv/bin/activate` (or call .venv/bin/python)"
        if here
        else "in the scratchnet clone run `make setup`, then `. .venv/bin/activate`; "
        "elsewhere install scratchnet with its extras (pip install 'scratchnet[pipeline]')"
    )
    return f"{what} is not installed for {sys.executable}: {advice}"


def explain_missing():
    """Print an uncaught ModuleNotFoundError of a project package as one `error:` line (exit 1)."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        line = message(value) if isinstance(value, ModuleNotFoundError) else None
        if line is None:
            previous(kind, value, traceback)
        else:
            print(f"error: {line}", file=sys.stderr)

    if getattr(sys.excepthook, "__module__", None) != __name__:
        sys.excepthook = hook
