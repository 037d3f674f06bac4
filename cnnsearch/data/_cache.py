"""The decode cache: an image folder decoded once to its target size, memory-mapped by every process.

Keyed by the folder's file list, each file's size and mtime, the target size and the
channels, so a changed, added or removed file, or another ``image_size``, is a new key.
The key also names the data set (its MLflow digest). An entry is a folder holding
``images.npy`` (uint8 N x H x W x C, the readable files in order) and ``meta.json``
(which files were kept, which were bad and why, each kept file's digest); it is built
under a lock in a temporary folder and renamed into place, so concurrent workers decode
once and never see half an entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnsearch.data._decode import LoadProgress, decode_into
from cnnsearch.data._scan import BadFile

#: Bumped when the entry's layout or the decoding changes, so old entries are not reused.
CACHE_VERSION = 1
#: Rows copied at a time when bad files' rows are dropped.
_CHUNK = 512


@dataclass(frozen=True)
class CacheEntry:
    """A cache entry, opened: the images (memory-mapped, read-only) and what the decode pass found."""

    key: str
    folder: Path
    images: np.ndarray
    kept: np.ndarray  # indices into the file list, ascending
    bad: tuple[BadFile, ...]
    digests: tuple[str, ...]  # one per kept file
    hit: bool  # True: decoded by an earlier run or another process


def cache_key(paths: Sequence[Path], size: tuple[int, int], channels: int) -> str:
    """A digest of every file's path, size and mtime, the target size and the channels."""
    h = hashlib.sha256(json.dumps({"version": CACHE_VERSION, "size": list(size), "channels": channels}).encode())
    for path in paths:
        try:
            stat = os.stat(path)
            h.update(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{os.path.abspath(path)}\0missing\n".encode())
    return h.hexdigest()[:32]


def cached_images(
    root: Path,
    paths: Sequence[Path],
    size: tuple[int, int],
    channels: int,
    progress: LoadProgress | None = None,
) -> CacheEntry:
    """The entry for these files at this size: opened if it exists, else decoded and written first."""
    key = cache_key(paths, size, channels)
    folder = root / key
    if (folder / "meta.json").is_file():
        return _open(key, folder, hit=True)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process decoding the same folder: wait for it
        if (folder / "meta.json").is_file():
            return _open(key, folder, hit=True)
        building = root / f"{key}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            _build(building, paths, size, channels, progress)
            os.replace(building, folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    (root / f"{key}.lock").unlink(missing_ok=True)
    return _open(key, folder, hit=False)


def _build(
    folder: Path, paths: Sequence[Path], size: tuple[int, int], channels: int, progress: LoadProgress | None
) -> None:
    shape = (len(paths), size[0], size[1], channels)
    raw = np.lib.format.open_memmap(folder / "raw.npy", mode="w+", dtype=np.uint8, shape=shape)
    bad, digests = decode_into(paths, size, channels, raw, progress)
    broken = {b.path for b in bad}
    kept = [i for i, path in enumerate(paths) if path not in broken]
    if not kept:  # nothing readable: an empty array (a memory map cannot be empty)
        del raw
        (folder / "raw.npy").unlink()
        np.save(folder / "images.npy", np.zeros((0, *shape[1:]), np.uint8))
    elif len(kept) == len(paths):
        raw.flush()
        del raw
        os.replace(folder / "raw.npy", folder / "images.npy")
    else:
        images = np.lib.format.open_memmap(
            folder / "images.npy", mode="w+", dtype=np.uint8, shape=(len(kept), *shape[1:])
        )
        for start in range(0, len(kept), _CHUNK):
            images[start : start + _CHUNK] = raw[kept[start : start + _CHUNK]]
        images.flush()
        del images, raw
        (folder / "raw.npy").unlink()
    meta = {
        "version": CACHE_VERSION,
        "files": [str(p) for p in paths],
        "kept": kept,
        "bad": [[str(b.path), b.reason] for b in bad],
        "digests": [digests[i] for i in kept],
        "size": list(size),
        "channels": channels,
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _open(key: str, folder: Path, hit: bool) -> CacheEntry:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    images = np.load(folder / "images.npy", mmap_mode="r" if meta["kept"] else None)
    return CacheEntry(
        key=key,
        folder=folder,
        images=images,
        kept=np.asarray(meta["kept"], dtype=np.int64),
        bad=tuple(BadFile(Path(p), reason) for p, reason in meta["bad"]),
        digests=tuple(meta["digests"]),
        hit=hit,
    )
