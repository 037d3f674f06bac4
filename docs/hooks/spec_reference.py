"""MkDocs hook: fill the spec-reference page from the spec's pydantic models at build time.

The page's source holds only its introduction and the marker below; every table comes from
``cnnsearch.spec.reference_markdown``, so a field is described once, in the models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- spec-reference: generated from cnnsearch.spec at build time -->"


def on_config(config: Any, **kwargs: Any) -> Any:
    """Document this checkout's cnnsearch, whichever one the environment has installed."""
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != "spec-reference.md":
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/spec-reference.md: the marker {MARKER!r} is missing")
    from cnnsearch.spec import reference_markdown

    return markdown.replace(MARKER, reference_markdown())
