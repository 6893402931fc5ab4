"""Thin command-line entry points, one per DVC stage (run as `python -m stages.NAME`)."""

from scratchnet.base import dependencies

# before a stage or tool imports NumPy: in a Python without the project's packages, one error line
dependencies.explain_missing()
