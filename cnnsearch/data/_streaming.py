"""Training past RAM: batches read from the memory-mapped decode cache instead of arrays held.

Keras turns NumPy arrays into tensors, a copy of the whole split in each process. When a
folder at its target size is larger than ``data.memory_limit``, the splits are written in
split order next to the cache entry and opened memory-mapped; ``batches`` then serves them
one shuffled batch at a time, so the pages are the operating system's to share between
workers and to evict. Worker processes on one machine always stream (``load(shared=True)``).
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

#: Batches read per Python call: 6,187 images at 32x32 in batches of 64 then cost 30-34 ms of CPU per
#: epoch to read, against 42-52 ms one batch at a time (by hand, 2 cores), and 32 ms for Keras's own
#: pipeline over arrays in memory (benchmarks/loading.py).
READ_BATCHES = 8


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


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0, rows: np.ndarray | None = None
) -> Any:
    """(images, labels) batches read from ``x`` and ``y`` as training asks for them; reshuffled every epoch.

    ``rows`` picks and orders the rows to serve (a resampled training split) without copying them
    out of ``x``. With TensorFlow installed this is a ``tf.data`` pipeline whose reads overlap
    training (epochs 0.98x the in-memory ones, the median over 3 seeds in docs/benchmarks.md);
    without it, a ``keras.utils.PyDataset`` (reads on two threads; about 1.2x by hand).
    """
    picked = np.arange(len(y)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(x) != len(y):
        raise DataError(f"data: {len(x)} images but {len(y)} labels")
    try:
        import tensorflow as tf
    except ImportError:
        return _py_dataset(x, y, batch_size, shuffle, seed, picked)

    def read(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``READ_BATCHES`` batches in one call, each batch's rows sorted (read in file order)."""
        chosen = np.concatenate(
            [np.sort(picked[positions[i : i + batch_size]]) for i in range(0, len(positions), batch_size)]
        )
        return np.asarray(x[chosen]), np.asarray(y[chosen])

    shapes = ([None, *x.shape[1:]], [None, *y.shape[1:]])
    stream = tf.data.Dataset.range(len(picked))
    if shuffle:
        stream = stream.shuffle(max(len(picked), 1), seed=seed, reshuffle_each_iteration=True)
    stream = stream.batch(batch_size * READ_BATCHES).map(
        lambda positions: tf.numpy_function(read, [positions], [tf.as_dtype(x.dtype), tf.as_dtype(y.dtype)])
    )
    stream = stream.map(lambda images, labels: (tf.ensure_shape(images, shapes[0]), tf.ensure_shape(labels, shapes[1])))
    stream = (
        stream.unbatch().batch(batch_size).apply(tf.data.experimental.assert_cardinality(-(-len(picked) // batch_size)))
    )
    return stream.prefetch(2)  # a batch read while one trains: more competes for the cores


def _py_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int, picked: np.ndarray) -> Any:
    """:func:`batches` for Keras without TensorFlow (the JAX or PyTorch backend alone)."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=2, use_multiprocessing=False, max_queue_size=8)  # reads overlap training
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(picked) if shuffle else picked

        def __len__(self) -> int:
            return -(-len(picked) // batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            chosen = np.sort(self.order[index * batch_size : (index + 1) * batch_size])
            return np.asarray(x[chosen]), np.asarray(y[chosen])

        def on_epoch_end(self) -> None:
            if shuffle:
                self.order = self.rng.permutation(picked)

    return Batches()
