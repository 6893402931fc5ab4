"""Developer tools beside the pipeline, run from the repository root as `python -m tools.NAME` (the
Makefile's targets): bench/ (speed, step profile and training against PyTorch), sweep/, docs/,
demo/ (a page to draw a digit on), and experiments, plots_page, photos, estimators. They need a git
checkout and the pipeline's extras; `pip install` does not make them importable."""

from scratchnet.base import dependencies

# before a stage or tool imports NumPy: in a Python without the project's packages, one error line
dependencies.explain_missing()
