"""README and docs/: every link and image resolves, every table is what `make docs` builds from the
recorded runs (so pages and records cannot drift), and README stays a front door."""

import os
import re
import unicodedata
from pathlib import Path

import pytest
from pipeline_helpers import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page):
    """GitHub's heading anchors of a Markdown page: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        in_code ^= line.startswith("```")
        if not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = "".join(c for c in title if c in " -_" or unicodedata.category(c)[0] in "LN")
            out.add(title.replace(" ", "-"))
    return out


def links(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # not in code blocks
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_link_and_image_resolves(page):
    for target in links(page):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue  # the web: not checked offline
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        assert str(resolved).startswith(str(PROJECT_ROOT)), f"{page.name}: {target} leaves the repository"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: {target}: no heading #{anchor} in {resolved.name}"


def test_every_page_is_linked_from_readme():
    linked = {(PROJECT_ROOT / t.partition("#")[0]).resolve() for t in links(PROJECT_ROOT / "README.md")}
    assert set(PAGES[1:]) <= linked, sorted(str(p.name) for p in set(PAGES[1:]) - linked)


def test_readme_is_a_front_door():
    assert len((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def test_every_table_is_what_make_docs_builds_from_the_records(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    from tools.docs import build as docs
    from tools.docs import tables as docs_tables

    tables = docs_tables.Tables(os.path.join("docs", "runs")).by_name()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        names = [m["name"] for m in docs.MARKER.finditer(text)]
        assert set(names) <= set(tables), f"{page.name}: unknown tables {set(names) - set(tables)}"
        assert docs.rendered(text, tables) == text, f"{page.name}: a table differs from its record: run `make docs`"


def test_no_page_says_how_or_when_it_was_measured_internally():
    """Docs describe the product: no session notes, no machine-local paths."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for phrase in ("this session", "not rerun", "/work/", "measured here"):
            assert phrase not in text, f"{page.name}: {phrase!r}"
        assert Path(page).suffix == ".md"
