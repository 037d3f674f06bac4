"""The data a run trains on, loaded with the console's progress bar, its skipped files named.

``validate``'s header scan of an image folder lives here too, so the CLI prints it before
any training.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cnnsearch._paths import logs_dir
from cnnsearch.spec import Spec

if TYPE_CHECKING:
    from cnnsearch.data import Splits
    from cnnsearch.reporting import SearchConsole

#: The full list of a study's skipped image files, in its logs folder.
BAD_FILES_NAME = "bad_files.txt"


def load_data(
    spec: Spec, display: SearchConsole | None, *, notes: bool = True, shared: bool = False
) -> tuple[Splits, Path | None]:
    """``data.load`` with a progress bar on ``display``; the skipped files' list file (None if none).
    ``notes=False``: the lines about skipped files are left to :func:`say_data_notes`; ``shared``:
    worker processes will train on the data too (an image folder streams, one copy for all)."""
    from cnnsearch import data
    from cnnsearch.reporting import LoadBar

    progress = LoadBar(display.progress) if display is not None else None
    splits = data.load(spec.data, seed=spec.study.seed, progress=progress, shared=shared)
    source, listed = splits.source, None
    if source is not None and source.bad:
        listed = data.write_bad_list(source.bad, logs_dir(spec.study.name) / BAD_FILES_NAME)
    if display is not None and notes:
        say_data_notes(display, splits, listed)
    return splits, listed


def say_data_notes(display: SearchConsole, splits: Splits, listed: Path | None) -> None:
    """The lines after loading: skipped files (and where their full list is), duplicates moved."""
    from cnnsearch.reporting import data_notes

    for line in data_notes(splits.source, listed):
        display.say(line)


def scan_data(spec: Spec) -> str | None:
    """An image folder's header scan, as ``cnnsearch validate`` prints it: no pixel is decoded.

    Args:
        spec: A validated spec (:func:`validate`).

    Returns:
        One line (files, classes, the size they are read at, unreadable files), or None when
        the dataset is not an image folder.

    Raises:
        DataError: more than ``data.max_bad_fraction`` of the files are unreadable, or a class
            is left with fewer than 2 readable images.

    Example:
        >>> cnnsearch.api.scan_data(cnnsearch.api.validate("search_spaces/folder.toml", ["data.path=photos"]))
        'photos: 240 image files in 6 classes, read as 192x256x3 (...); every header readable'
    """
    if spec.data.dataset != "directory":
        return None
    from cnnsearch import data

    return data.scan_folder(spec.data)
