"""The README stays short and its links land: MkDocs checks the site's own links (``make docs``),
but not the README's, which GitHub and PyPI show first."""

from __future__ import annotations

import re
from pathlib import Path

from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_LINES = 200


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def _headings(page: Path) -> set[str]:
    """The anchors MkDocs gives a page's headings (its toc extension's slugify)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {
        slugify(re.sub(r"[`*]", "", line.lstrip("#").strip()), "-")
        for line in text.splitlines()
        if line.startswith("#")
    }


def test_readme_links_reach_files_and_headings() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert len(local) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.is_file(), f"README.md links to {link}: no such file"
        if anchor:
            assert anchor in _headings(target), f"README.md links to {link}: no such heading"


def test_api_page_documents_every_public_name() -> None:
    """docs/api.md lists the objects mkdocstrings renders; a new name in ``cnnsearch.api`` must join it."""
    import cnnsearch.api

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    listed = re.findall(r"^::: cnnsearch\.api\.(\w+)$", page, flags=re.M)
    assert sorted(listed) == sorted(cnnsearch.api.__all__)
