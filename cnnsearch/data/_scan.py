"""An image folder's files, and what their headers say, read without decoding any pixels.

A header scan is what ``validate`` runs (fast: a few KB a file) and what picks an unset
``image_size``. Files the headers already condemn (empty, not an image, an unsupported
mode, a decompression bomb) are listed together as :class:`BadFile`; truncated ones are
found by the decode pass, which reads every byte.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cnnsearch.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
#: PIL modes a file may have; each converts to "L" or "RGB" (16-bit and float grayscale are scaled).
SUPPORTED_MODES = frozenset(
    {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "I", "I;16", "I;16B", "I;16L", "F"}
)
#: An unset data.image_size is the folder's most common size, scaled down to this many pixels a side at
#: most (keras.utils.image_dataset_from_directory's default is 256 x 256): never a photo's native size.
AUTO_SIZE_CAP = 256
#: At most this many paths are shown in a message; the full list goes to a file.
SHOWN_PATHS = 5


@dataclass(frozen=True)
class BadFile:
    """A file that cannot be used, and why (a few words: "empty file", "truncated", ...)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Header:
    """What an image file's header says: (height, width) and PIL mode."""

    height: int
    width: int
    mode: str


def threads() -> int:
    """Worker threads for scanning and decoding: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def class_files(folder: Path) -> dict[str, list[Path]]:
    """Class name -> sorted image files, for each non-hidden sub-folder holding images."""
    if not folder.is_dir():
        return {}
    classes = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if files:
            classes[sub.name] = files
    return classes


def folder_layout(root: Path) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]]]:
    """Class names, training files and test files (empty unless train/ and test/ folders) with labels."""
    train, test = class_files(root), {}
    split_train, split_test = class_files(root / "train"), class_files(root / "test")
    if split_train and split_test:  # not two classes that happen to be called train and test
        train, test = split_train, split_test
        if set(test) - set(train):
            raise DataError(
                f"data.path: {root / 'test'} has classes missing from train/: {sorted(set(test) - set(train))}"
            )
    if len(train) < 2:
        raise DataError(
            f"data.path: {root} needs one sub-folder of images ({', '.join(IMAGE_SUFFIXES)}) per class, "
            f"at least 2, found {len(train)}"
        )
    names = sorted(train)
    files = [(path, names.index(label)) for label in names for path in train[label]]
    test_files = [(path, names.index(label)) for label in sorted(test) for path in test[label]]
    return names, files, test_files


#: What PIL raises for a file it cannot open or decode (UnidentifiedImageError is an OSError).
UNREADABLE = (OSError, ValueError, SyntaxError, EOFError)


def read_header(path: Path) -> Header | BadFile:
    """The file's header, or why the file cannot be an image this loader uses."""
    from PIL import Image

    try:
        if os.path.getsize(path) == 0:
            return BadFile(path, "empty file")
        with Image.open(path) as image:
            width, height, mode = image.size[0], image.size[1], image.mode
    except (*UNREADABLE, Image.DecompressionBombError) as exc:
        return unreadable(path, exc, f"unreadable header ({type(exc).__name__})")
    return judge(path, height, width, mode)


def unreadable(path: Path, exc: BaseException, otherwise: str) -> BadFile:
    """Why PIL could not read ``path``, in the words the scan and the decoder share; ``otherwise`` for the rest."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return BadFile(path, "not an image")
    if isinstance(exc, Image.DecompressionBombError):
        return BadFile(path, "decompression bomb")
    return BadFile(path, otherwise)


def judge(path: Path, height: int, width: int, mode: str) -> Header | BadFile:
    """A header's size and mode checked against what decoding accepts."""
    from PIL import Image

    if width < 1 or height < 1:
        return BadFile(path, f"no pixels ({width}x{height})")
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:  # PIL's own bound, read when called
        return BadFile(path, f"decompression bomb ({width}x{height} pixels, more than {limit})")
    if mode not in SUPPORTED_MODES:
        return BadFile(path, f"unsupported mode {mode}")
    return Header(height, width, mode)


def scan_headers(paths: Sequence[Path]) -> tuple[list[Header | None], list[BadFile]]:
    """Every file's header (None where bad), and the bad files, read in parallel."""
    with ThreadPoolExecutor(threads()) as pool:
        results = list(pool.map(read_header, paths, chunksize=16))
    headers = [r if isinstance(r, Header) else None for r in results]
    return headers, [r for r in results if isinstance(r, BadFile)]


def auto_size(headers: Sequence[Header | None], cap: int = AUTO_SIZE_CAP) -> tuple[int, int]:
    """The most common (height, width), scaled down (aspect kept) so neither side passes ``cap``."""
    sizes = Counter((h.height, h.width) for h in headers if h is not None)
    if not sizes:
        raise DataError("data.path: no readable image to take data.image_size from; set data.image_size")
    height, width = sizes.most_common(1)[0][0]
    scale = min(1.0, cap / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def auto_channels(headers: Sequence[Header | None]) -> int:
    """3 if any image has colour, else 1."""
    gray = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
    return 3 if any(h is not None and h.mode not in gray for h in headers) else 1


def describe_bad(bad: Sequence[BadFile], total: int, listed: Path | None = None) -> str:
    """One line: how many files were skipped, the first few paths and why, where the full list is."""
    first = "; ".join(f"{b.path} ({b.reason})" for b in bad[:SHOWN_PATHS])
    more = f"; and {len(bad) - SHOWN_PATHS} more" if len(bad) > SHOWN_PATHS else ""
    where = f" (full list: {listed})" if listed is not None else ""
    return f"Skipped {len(bad)} of {total} image files that cannot be read: {first}{more}{where}"


def write_bad_list(bad: Sequence[BadFile], path: Path) -> Path:
    """Every bad file, one ``path<TAB>reason`` line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{b.path}\t{b.reason}\n" for b in bad), encoding="utf-8")
    return path


def check_losses(bad: Sequence[BadFile], total: int, max_fraction: float, counts: dict[str, int], minimum: int) -> None:
    """One DataError when too large a share of the files is bad, or a class is left with too few images."""
    if total and len(bad) / total > max_fraction:
        raise DataError(
            f"data.path: {len(bad)} of {total} image files ({len(bad) / total:.0%}) cannot be read, more than "
            f"data.max_bad_fraction = {max_fraction}: " + "; ".join(f"{b.path} ({b.reason})" for b in bad)
        )
    short = {name: n for name, n in counts.items() if n < minimum}
    if short:
        listed = ", ".join(f"{name} ({n})" for name, n in short.items())
        raise DataError(
            f"data.path: classes with fewer than {minimum} readable images: {listed}"
            + (f"; unreadable files: {'; '.join(f'{b.path} ({b.reason})' for b in bad)}" if bad else "")
        )
