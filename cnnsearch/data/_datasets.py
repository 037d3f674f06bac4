"""Datasets -> uint8 image arrays with stratified train/validation/test splits.

Pixels stay raw (0-255, NHWC): the model rescales them, so an exported model takes
raw images. The test split is never used by the search. Every problem a user can
cause (a wrong folder, a broken file, odd arrays) becomes a one-line DataError.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from cnnsearch._paths import HOME
from cnnsearch.data._decode import LoadProgress
from cnnsearch.data._folder import FolderSource, keep_apart, load_folder
from cnnsearch.data._images import as_uint8, to_images
from cnnsearch.data._streaming import memory_budget, split_files
from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec

DIGIT_NAMES = [str(i) for i in range(10)]
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class Splits:
    """Train, validation and test arrays (uint8 NHWC images, int64 labels) plus class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    #: An image folder's cache key, skipped files and moved duplicates; None for the other datasets.
    source: FolderSource | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        height, width, channels = (int(d) for d in self.x_train.shape[1:])
        return height, width, channels

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# A loader returns the training pool, the test set (None: carve one) and the class names.
Loaded = tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray], list[str]]


def load(
    data: DataSpec, seed: int, progress: LoadProgress | None = None, home: Path = HOME, shared: bool = False
) -> Splits:
    """Load the dataset the spec names, resize/convert as asked, carve a stratified validation split.

    An image folder is decoded once into the decode cache under ``home`` (``progress`` sees
    the files as they are done) and reopened from it on every later call. It streams when it
    is larger than ``data.memory_limit``, or when ``shared``: several processes on this machine
    train on it (``run --workers``), and streaming keeps one copy of its pages for all of them.
    """
    if data.dataset == "directory":
        return _folder_splits(data, seed, progress, home, shared)
    x, y, x_test, y_test, names = _LOADERS[data.dataset](data)
    if len(names) < 2:
        raise DataError(f"data.dataset: '{data.dataset}' needs at least 2 classes, found {len(names)}")
    for what, labels in (("training", y), ("test", y_test)):
        if labels is not None and labels.size and (labels.min() < 0 or labels.max() >= len(names)):
            raise DataError(f"data.path: {what} labels must lie in 0..{len(names) - 1} ({len(names)} class names)")
    if x_test is None or y_test is None:
        x, x_test, y, y_test = _split(x, y, data.test_split, seed, "test_split")
    if data.max_train_samples is not None and data.max_train_samples < len(x):
        # Subsampling before any resize is cheaper and keeps the same images (the split sees only labels).
        x, _, y, _ = _split(x, y, len(x) - data.max_train_samples, seed, "max_train_samples")
    size = (data.image_size[0], data.image_size[1]) if data.image_size else None
    x, x_test = to_images(x, size, data.channels), to_images(x_test, size, data.channels)
    if x.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"data.path: test images are {_shape(x_test)} but training images are {_shape(x)} "
            "(set data.image_size and data.channels to make them agree)"
        )
    x_train, x_val, y_train, y_val = _split(x, y, data.validation_split, seed, "validation_split")
    return Splits(x_train, y_train, x_val, y_val, x_test, np.asarray(y_test, dtype=np.int64), list(names))


def _folder_splits(data: DataSpec, seed: int, progress: LoadProgress | None, home: Path, shared: bool) -> Splits:
    """An image folder's splits, taken by index from the memory-mapped cache (only the rows used are read)."""
    folder = load_folder(data, progress, home)
    images, labels = folder.images, folder.labels
    pool, test = np.arange(folder.pool), np.arange(folder.pool, len(labels))
    if not len(test):
        pool, test = _split_indices(labels, data.test_split, seed, "test_split")
    pool, test, moved = keep_apart(folder.digests, pool, test)
    if data.max_train_samples is not None and data.max_train_samples < len(pool):
        pool = pool[_split_indices(labels[pool], len(pool) - data.max_train_samples, seed, "max_train_samples")[0]]
    train, val = (pool[i] for i in _split_indices(labels[pool], data.validation_split, seed, "validation_split"))
    budget = memory_budget(data.memory_limit)
    because = ""
    if images.nbytes > budget:
        limit = f"data.memory_limit = {data.memory_limit!r}" if data.memory_limit else "half the available memory"
        because = f"larger than the memory budget ({limit}: {_mib(budget)})"
    elif shared:
        because = "one copy shared by the worker processes"
    if because:  # each split memory-mapped from its own file, read a batch at a time
        parts = split_files(folder.entry, images, {"x_train": train, "x_val": val, "x_test": test})
        x_train, x_val, x_test = parts["x_train"], parts["x_val"], parts["x_test"]
    else:
        x_train, x_val, x_test = images[train], images[val], images[test]
    source = dataclasses.replace(
        folder.source, duplicates_moved=moved, streamed=bool(because), streamed_because=because
    )
    return Splits(
        *(x_train, labels[train], x_val, labels[val], x_test, labels[test]),
        class_names=list(folder.names),
        source=source,
    )


def _mib(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB" if count >= 2**20 else f"{count:,} bytes"


def _split_indices(y: np.ndarray, size: float | int, seed: int, field: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_split` of the positions 0..len(y)-1: the same stratified draw, without touching pixels."""
    a, b, _, _ = _split(np.arange(len(y)), y, size, seed, field)
    return a, b


def _split(x: np.ndarray, y: np.ndarray, size: float | int, seed: int, field: str) -> tuple[np.ndarray, ...]:
    """Stratified split; falls back to a plain one when a class is too small to stratify."""
    from sklearn.model_selection import train_test_split

    if len(x) != len(y):
        raise DataError(f"data.path: {len(x)} images but {len(y)} labels")
    try:
        parts = train_test_split(x, y, test_size=size, stratify=y, random_state=seed)
    except ValueError:
        try:
            parts = train_test_split(x, y, test_size=size, random_state=seed)
        except ValueError:
            raise DataError(
                f"data.{field}: {len(x)} images are too few to split into two non-empty parts ({field} = {size})"
            ) from None
    x_a, x_b, y_a, y_b = parts
    return x_a, x_b, y_a.astype(np.int64), y_b.astype(np.int64)


def _shape(x: np.ndarray) -> str:
    return "x".join(str(d) for d in x.shape[1:])


# --- loaders -----------------------------------------------------------------------


def _digits(data: DataSpec) -> Loaded:
    """scikit-learn's 8x8 digits (values 0..16), the offline demo; ships no test set."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)[..., None]
    return x, digits.target.astype(np.int64), None, None, list(DIGIT_NAMES)


def _keras_dataset(name: str, names: list[str]) -> Loaded:
    """keras.datasets.<name>.load_data(): downloads once into ~/.keras/datasets."""
    try:
        import keras

        (x, y), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as exc:  # noqa: BLE001 - network, disk or a half-downloaded archive: all the user's to fix
        reason = " ".join(str(exc).split())[:200]
        raise DataError(f"data.dataset: could not load '{name}' with keras.datasets ({reason})") from None
    if x.ndim == 3:
        x, x_test = x[..., None], x_test[..., None]
    return x, y.reshape(-1).astype(np.int64), x_test, y_test.reshape(-1).astype(np.int64), names


def _cifar10(data: DataSpec) -> Loaded:
    """A local cifar-10-batches-py folder (batches of any size), else the Keras download."""
    if data.path is None:
        return _keras_dataset("cifar10", list(CIFAR10_NAMES))
    folder = Path(data.path)
    if (folder / "cifar-10-batches-py").is_dir():  # pointed at the folder the archive was unpacked in
        folder = folder / "cifar-10-batches-py"
    batches = sorted(p for p in folder.glob("data_batch_*") if p.is_file())
    if not batches or not (folder / "test_batch").is_file():
        raise DataError(
            f"data.path: {folder} is not a cifar-10-batches-py folder (expected data_batch_1.. and test_batch files)"
        )
    xs, ys = zip(*(_cifar_batch(path) for path in batches))
    x_test, y_test = _cifar_batch(folder / "test_batch")
    names = list(CIFAR10_NAMES)
    if (folder / "batches.meta").is_file():
        meta = _unpickle(folder / "batches.meta")
        if not isinstance(meta, dict) or b"label_names" not in meta:
            raise DataError(f"{folder / 'batches.meta'}: expected a dict with b'label_names'")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"]]
    return np.concatenate(xs), np.concatenate(ys), x_test, y_test, names


def _unpickle(path: Path) -> Any:
    """CIFAR's own format is a Python pickle, so only point data.path at files you trust."""
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="bytes")
    except Exception as exc:  # noqa: BLE001 - unpickling garbage can raise almost anything
        raise DataError(f"{path}: not a CIFAR-10 batch file ({type(exc).__name__})") from None


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: not a CIFAR-10 batch file (expected a dict with b'data' and b'labels')")
    rows, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"]).reshape(-1)
    if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != 3072 or len(labels) != len(rows):
        raise DataError(
            f"{path}: expected uint8 data of shape (N, 3072) and N labels, got {rows.dtype} {rows.shape} "
            f"and {len(labels)} labels"
        )
    # Rows are channel-major: 1024 red, 1024 green, then 1024 blue values, row by row.
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.int64)


def _npz(data: DataSpec) -> Loaded:
    """Arrays x_train, y_train (required), x_test and y_test (optional, together), class_names."""
    path = Path(data.path or ".")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, AttributeError, TypeError, EOFError) as exc:
        # A .npy file gives a bare array (no .files); pickled object arrays are refused on purpose.
        raise DataError(f"data.path: {path} is not a readable .npz archive ({type(exc).__name__})") from None
    missing = [k for k in ("x_train", "y_train") if k not in arrays]
    if missing or ("x_test" in arrays) != ("y_test" in arrays):
        missing = missing or [k for k in ("x_test", "y_test") if k not in arrays]
        raise DataError(f"data.path: {path} lacks {', '.join(missing)} (has {', '.join(sorted(arrays)) or 'nothing'})")
    given = [str(n) for n in arrays["class_names"].reshape(-1)] if "class_names" in arrays else None
    y_train, y_test, names = _encode_labels(arrays["y_train"], arrays.get("y_test"), given, path)

    def images(key: str, labels: np.ndarray) -> np.ndarray:
        x = arrays[key]
        if x.ndim not in (3, 4) or len(x) == 0:
            raise DataError(
                f"data.path: {path}: {key} must be a non-empty (N, H, W) or (N, H, W, C) array, got {x.shape}"
            )
        if len(x) != len(labels):
            raise DataError(f"data.path: {path}: {key} has {len(x)} images but y{key[1:]} has {len(labels)} labels")
        return as_uint8(x, f"data.path: {path}: {key}")

    x_test = images("x_test", y_test) if y_test is not None else None
    return images("x_train", y_train), y_train, x_test, y_test, names


def _encode_labels(
    y_train: np.ndarray, y_test: np.ndarray | None, given: list[str] | None, path: Path
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Int or string labels -> 0..K-1 (sorted values), keeping given class_names aligned with them."""
    parts = [y_train.reshape(-1)] + ([] if y_test is None else [y_test.reshape(-1)])
    labels = np.concatenate(parts)
    kind = labels.dtype.kind
    if kind == "S":
        labels = labels.astype(str)
    if kind == "b" or (kind == "f" and np.isfinite(labels).all() and (labels == np.round(labels)).all()):
        labels = labels.astype(np.int64)  # True/False and 0.0, 1.0, ... are whole-number labels
    if labels.dtype.kind not in "iuU":
        raise DataError(f"data.path: {path}: labels must be integers or strings, got {labels.dtype}")
    values, codes = np.unique(labels, return_inverse=True)
    names = [str(v) for v in values] if given is None else given
    if given is None or len(values) == 0:
        pass
    elif labels.dtype.kind in "iu" and values[0] >= 0 and values[-1] < len(given):
        codes = labels  # the labels already index class_names
    elif labels.dtype.kind == "U" and set(values.tolist()) <= set(given):
        codes = np.array([given.index(v) for v in values.tolist()])[codes]
    elif len(values) != len(given):
        raise DataError(f"data.path: {path}: {len(given)} class_names do not match {len(values)} distinct labels")
    codes = codes.reshape(-1).astype(np.int64)
    n = len(parts[0])
    return codes[:n], (codes[n:] if y_test is not None else None), names


_LOADERS: dict[str, Callable[[DataSpec], Loaded]] = {
    "digits": _digits,
    "cifar10": _cifar10,
    "mnist": lambda data: _keras_dataset("mnist", list(DIGIT_NAMES)),
    "fashion_mnist": lambda data: _keras_dataset("fashion_mnist", list(FASHION_NAMES)),
    "npz": _npz,
}
