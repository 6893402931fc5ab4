"""Command lines of predict and the tools, as Hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

# --- generators: command lines ----------------------------------------------------------------

PREDICT_OPTIONS = [
    "--model", "--json", "-h", "--help", "--", "-", "--mod", "--mode", "--js", "--modle", "--jsn", "-m", "-j",
    "--model=", "--json=1", "---model", "--MODEL", "--input", "-model",
]  # fmt: skip


# Random tokens never name an absolute path or leave the directory (the tools write where they are told),
# nor hold a NUL (no process's argument can).
SAFE_TEXT = st.text(st.characters(blacklist_characters="/\\~\x00", blacklist_categories=("Cs",)), max_size=12)


TOOL_PATHS = [
    "idx", "badidx", "emptydir", "afile", "missing", "reports", "reports/compare.json", "reports/bench.json",
    "afile/out.json", "new/dir/out.json", "out.json", "", ".", "params.yaml",
]  # fmt: skip


def tool_argv(options, integers=True, extra=()):
    """Command lines of a tool: its options (real and misspelled), paths, numbers, any text."""
    values = [st.sampled_from(TOOL_PATHS), SAFE_TEXT]
    if integers:
        values += [st.integers(-3, 3).map(str), st.sampled_from(["10" * 20, "1.5", "1e3", "0x10", " 2", "-0"])]
    if extra:
        values.append(st.sampled_from(list(extra)))
    return st.lists(st.one_of(st.sampled_from(options), *values), max_size=6)


WORKSPACE_KINDS = st.sampled_from(["a DVC repository", "a plain directory"])
