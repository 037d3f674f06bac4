"""Decode image files straight to the target size, in parallel, a few full-size images at a time.

A 4000x3000 photo is 36 MB of pixels; decoded whole, a folder of them does not fit in RAM.
Each file is read, reduced while decoding where its format can (JPEG's DCT scaling via
PIL ``draft``: 1/2, 1/4 or 1/8 size, never below the target), resized, and written into
its row of the output array at once. Threads suffice: PIL releases the GIL while it
decodes and resizes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

import numpy as np

from cnnsearch.data._images import pixels, to_images
from cnnsearch.data._scan import UNREADABLE, BadFile, judge, threads, unreadable


class LoadProgress(Protocol):
    """What the decode pass reports as it goes; the console supplies it (``reporting``)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...

    def finish(self) -> None: ...


class Decoded:
    """One file's pixels at the target size and the digest of its bytes (exact duplicates share it)."""

    __slots__ = ("digest", "image")

    def __init__(self, image: np.ndarray, digest: str) -> None:
        self.image, self.digest = image, digest


def decode(path: Path, size: tuple[int, int], channels: int) -> Decoded | BadFile:
    """The file as a uint8 (H, W, C) array of ``size`` and ``channels``, or why it cannot be."""
    from PIL import Image

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return BadFile(path, f"cannot be read ({exc.strerror or type(exc).__name__})")
    if not data:
        return BadFile(path, "empty file")
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as opened:
            judged = judge(path, opened.size[1], opened.size[0], opened.mode)
            if isinstance(judged, BadFile):
                return judged
            if opened.format == "JPEG":
                side = max(size)  # EXIF may turn the image a quarter: both sides at least the longer target side
                opened.draft("L" if channels == 1 else "RGB", (side, side))
            array = pixels(opened)
    except (*UNREADABLE, Image.DecompressionBombError) as exc:
        return unreadable(path, exc, f"truncated or corrupt ({type(exc).__name__}: {' '.join(str(exc).split())[:60]})")
    return Decoded(to_images(array[None], size, channels)[0], digest)


def decode_into(
    paths: Sequence[Path],
    size: tuple[int, int],
    channels: int,
    out: np.ndarray,
    progress: LoadProgress | None = None,
) -> tuple[list[BadFile], list[str]]:
    """Decode every file into its row of ``out`` (N, H, W, C); the bad files and each file's digest.

    At most ``2 x threads`` files are in flight, so memory stays a few full-size images
    whatever the folder's length. A bad file's row stays zero and its digest empty.
    """
    bad: list[BadFile] = []
    digests = [""] * len(paths)
    if progress is not None:
        progress.start(len(paths))
    done = 0
    window = 2 * threads()
    with ThreadPoolExecutor(threads()) as pool:
        pending: dict[Future[Decoded | BadFile], int] = {}
        queue = iter(range(len(paths)))
        for i in queue:
            pending[pool.submit(decode, paths[i], size, channels)] = i
            if len(pending) < window:
                continue
            done += _collect(pending, out, bad, digests, wait(pending, return_when=FIRST_COMPLETED).done)
            if progress is not None:
                progress.advance(done)
        while pending:
            done += _collect(pending, out, bad, digests, wait(pending, return_when=FIRST_COMPLETED).done)
            if progress is not None:
                progress.advance(done)
    if progress is not None:
        progress.finish()
    bad.sort(key=lambda b: str(b.path))
    return bad, digests


def _collect(
    pending: dict[Future[Decoded | BadFile], int],
    out: np.ndarray,
    bad: list[BadFile],
    digests: list[str],
    finished: set[Future[Decoded | BadFile]],
) -> int:
    for future in finished:
        i = pending.pop(future)
        result = future.result()
        if isinstance(result, BadFile):
            bad.append(result)
        else:
            out[i] = result.image
            digests[i] = result.digest
    return len(finished)
