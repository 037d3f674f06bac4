"""An image folder (one sub-folder per class, or train/ and test/ so laid out) -> cached arrays.

The memory a folder takes is that of its images at the target size, never at the size
the photos were taken at: files are decoded straight to ``data.image_size`` (or a size the
headers suggest, capped) into the decode cache, and every bad file is skipped and named.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnsearch._paths import HOME, decode_cache
from cnnsearch.data._cache import cache_key, cached_images
from cnnsearch.data._decode import LoadProgress
from cnnsearch.data._scan import (
    BadFile,
    auto_channels,
    auto_size,
    check_losses,
    describe_bad,
    folder_layout,
    scan_headers,
)
from cnnsearch.spec import DataSpec

#: A class needs this many readable images: one to train on and one to validate or test.
MIN_IMAGES_PER_CLASS = 2


@dataclass(frozen=True)
class FolderSource:
    """Where a folder's arrays came from: the cache key (the data set's digest) and what was skipped."""

    path: Path
    key: str
    files: int
    bad: tuple[BadFile, ...]
    cache_hit: bool
    image_size: tuple[int, int]
    channels: int
    duplicates_moved: int = 0  # exact duplicates of training images taken out of the test split
    streamed: bool = False  # the splits are memory-mapped, trained on in batches (see streamed_because)
    streamed_because: str = ""  # why, for the console: past the memory budget, or shared by worker processes


@dataclass(frozen=True)
class FolderImages:
    """All readable images (memory-mapped), labels, how many lead as the training pool, digests."""

    images: np.ndarray
    labels: np.ndarray
    pool: int  # rows [0, pool) are the training pool; the rest is the test/ folder (if any)
    digests: tuple[str, ...]
    names: list[str]
    source: FolderSource
    entry: Path  # the cache entry's folder


def load_folder(data: DataSpec, progress: LoadProgress | None = None, home: Path = HOME) -> FolderImages:
    """Decode (or reopen from the cache) every readable image of the folder ``data.path``."""
    root = Path(data.path or ".")
    names, files, test_files = folder_layout(root)
    paths = [path for path, _ in files + test_files]
    labels = np.array([label for _, label in files + test_files], dtype=np.int64)
    size, channels = target(data, paths, decode_cache(home))
    entry = cached_images(decode_cache(home), paths, size, channels, progress)
    kept_labels = labels[entry.kept]
    counts = Counter(kept_labels[entry.kept < len(files)].tolist())
    check_losses(
        entry.bad,
        len(paths),
        data.max_bad_fraction,
        {name: counts.get(i, 0) for i, name in enumerate(names)},
        MIN_IMAGES_PER_CLASS,
    )
    source = FolderSource(root, entry.key, len(paths), entry.bad, entry.hit, size, channels)
    pool = int((entry.kept < len(files)).sum())
    return FolderImages(entry.images, kept_labels, pool, entry.digests, names, source, entry.folder)


def target(data: DataSpec, paths: list[Path], root: Path) -> tuple[tuple[int, int], int]:
    """(height, width) and channels: the spec's, else from the headers (the size capped, never native).

    What the headers said is kept in ``root`` (the cache) under the file list's key, so a
    rerun on an unchanged folder opens no file before it opens the cache.
    """
    if data.image_size and data.channels:
        return (data.image_size[0], data.image_size[1]), data.channels
    kept = root / f"headers-{cache_key(paths, (0, 0), 0)}.json"
    try:
        height, width, colour = json.loads(kept.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        headers, _ = scan_headers(paths)
        (height, width), colour = auto_size(headers), auto_channels(headers)
        with contextlib.suppress(OSError):
            root.mkdir(parents=True, exist_ok=True)
            kept.write_text(json.dumps([height, width, colour]), encoding="utf-8")
    size = (data.image_size[0], data.image_size[1]) if data.image_size else (height, width)
    return size, data.channels or colour


def keep_apart(digests: tuple[str, ...], pool: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Test rows that are exact copies of a training-pool row move to the pool, so no image is on both sides.

    Returns the new pool and test indices and how many rows moved.
    """
    seen = {digests[i] for i in pool.tolist()}
    leaked = np.array([digests[i] in seen for i in test.tolist()], dtype=bool)
    if not leaked.any():
        return pool, test, 0
    return np.concatenate([pool, test[leaked]]), test[~leaked], int(leaked.sum())


def scan_folder(data: DataSpec) -> str:
    """The header scan ``validate`` runs (no pixel decoded): one line on the folder, or a DataError.

    Truncated files pass a header scan; the decode pass of ``run`` finds them.
    """
    root = Path(data.path or ".")
    names, files, test_files = folder_layout(root)
    paths = [path for path, _ in files + test_files]
    headers, bad = scan_headers(paths)
    broken = {b.path for b in bad}
    counts = Counter(label for path, label in files if path not in broken)
    check_losses(
        bad, len(paths), data.max_bad_fraction, {n: counts.get(i, 0) for i, n in enumerate(names)}, MIN_IMAGES_PER_CLASS
    )
    size = (data.image_size[0], data.image_size[1]) if data.image_size else auto_size(headers)
    channels = data.channels or auto_channels(headers)
    test = f" (+{len(test_files)} in test/)" if test_files else ""
    line = f"{root}: {len(files)} image files{test} in {len(names)} classes, read as {size[0]}x{size[1]}x{channels}" + (
        "" if data.image_size else " (data.image_size unset: the most common size, at most 256 a side)"
    )
    return line + (f"; {describe_bad(bad, len(paths))}" if bad else "; every header readable")
