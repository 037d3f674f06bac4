"""Training past RAM: batches read from the memory-mapped decode cache instead of arrays held.

Keras turns NumPy arrays into tensors, a copy of the whole split in each process. When a
folder at its target size is larger than ``data.memory_limit``, the splits are written in
split order next to the cache entry and opened memory-mapped; ``batches`` then serves them
as a ``keras.utils.PyDataset`` that reads one shuffled batch at a time, so the pages are the
operating system's to share between workers and to evict.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnsearch.errors import DataError
from cnnsearch.spec import parse_bytes

#: Without data.memory_limit: stream when the images take more than this share of the available memory.
DEFAULT_SHARE = 0.5


def memory_budget(limit: str | None) -> int:
    """Bytes the images may take in RAM: ``data.memory_limit``, else half the memory available now."""
    if limit is not None:
        return parse_bytes(limit)
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        with open("/proc/meminfo", encoding="ascii") as meminfo:  # MemAvailable counts reclaimable cache
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        available = 8 * 2**30
    return int(available * DEFAULT_SHARE)


def split_files(
    folder: Path, images: np.ndarray, parts: dict[str, np.ndarray], chunk: int = 512
) -> dict[str, np.ndarray]:
    """Each split's rows of ``images`` written in split order under ``folder``, reopened memory-mapped.

    Named by a digest of the indices, so every worker with the same seed reuses one copy.
    """
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(p, dtype=np.int64).tobytes() for p in parts.values()))
    out = folder / f"splits-{digest.hexdigest()[:16]}"
    out.mkdir(exist_ok=True)
    opened = {}
    for name, rows in parts.items():
        path = out / f"{name}.npy"
        if not path.is_file():
            partial = out / f"{name}.{os.getpid()}.npy"
            array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(rows), *images.shape[1:]))
            for start in range(0, len(rows), chunk):
                array[start : start + chunk] = images[rows[start : start + chunk]]
            array.flush()
            del array
            os.replace(partial, path)
        opened[name] = np.load(path, mmap_mode="r") if len(rows) else np.zeros((0, *images.shape[1:]), np.uint8)
    return opened


def is_streamed(x: Any) -> bool:
    """Whether ``x`` is a memory-mapped split (trained on through :func:`batches`)."""
    return isinstance(x, np.memmap)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0) -> Any:
    """A ``keras.utils.PyDataset`` of (images, labels) batches; reshuffled after every epoch if ``shuffle``."""
    import keras

    if len(x) != len(y):
        raise DataError(f"data: {len(x)} images but {len(y)} labels")

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=2, use_multiprocessing=False, max_queue_size=8)  # reads overlap training
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(y)) if shuffle else np.arange(len(y))

        def __len__(self) -> int:
            return -(-len(y) // batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            rows = np.sort(self.order[index * batch_size : (index + 1) * batch_size])  # sorted: sequential reads
            return np.asarray(x[rows]), np.asarray(y[rows])

        def on_epoch_end(self) -> None:
            if shuffle:
                self.order = self.rng.permutation(len(y))

    return Batches()
