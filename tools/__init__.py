"""Developer tools beside the pipeline, run from the repository root as `python -m tools.NAME` (the
Makefile's targets): bench, compare (against PyTorch), sweep, experiments, plots_page, demo. They need a
git checkout and the pipeline's extras; `pip install` does not make them importable."""
