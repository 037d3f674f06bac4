"""Datasets -> uint8 image arrays with stratified train/validation/test splits.

Pixels stay raw (0-255, NHWC): the model rescales them, so an exported model takes
raw images. The test split is never used by the search.
"""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class Splits:
    """Train, validation and test arrays plus class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load(data: DataSpec, seed: int) -> Splits:
    """Load the dataset the spec names, resize/convert as asked, carve a stratified validation split."""
    x, y, x_test, y_test, names = _LOADERS[data.dataset](data)
    if x_test is None:
        x, x_test, y, y_test = _split(x, y, data.test_split, seed, "test_split")
    size = tuple(data.image_size) if data.image_size else None
    x, x_test = to_images(x, size, data.channels), to_images(x_test, size, data.channels)
    if data.max_train_samples is not None and data.max_train_samples < len(x):
        x, _, y, _ = _split(x, y, len(x) - data.max_train_samples, seed, "max_train_samples")
    x_train, x_val, y_train, y_val = _split(x, y, data.validation_split, seed, "validation_split")
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, names)


def _split(x: np.ndarray, y: np.ndarray, size: float | int, seed: int, field: str) -> tuple[np.ndarray, ...]:
    """Stratified split; falls back to a plain one when a class is too small to stratify."""
    from sklearn.model_selection import train_test_split

    try:
        return tuple(train_test_split(x, y, test_size=size, stratify=y, random_state=seed))
    except ValueError:
        try:
            return tuple(train_test_split(x, y, test_size=size, random_state=seed))
        except ValueError as exc:
            raise DataError(f"data.{field}: cannot split {len(x)} images: {exc}") from None


# --- image conversion -------------------------------------------------------------


def to_images(x: np.ndarray, image_size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """uint8 NHWC images resized (bilinear) to image_size and converted to 1 or 3 channels."""
    if x.ndim == 3:
        x = x[..., None]
    if channels is not None and x.shape[-1] != channels:
        if channels == 3 and x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        elif channels == 1 and x.shape[-1] in (3, 4):
            x = np.round(x[..., :3].astype("float32") @ np.array([0.299, 0.587, 0.114], "float32"))[..., None]
            x = x.astype("uint8")
        else:
            raise DataError(f"data.channels: cannot convert {x.shape[-1]}-channel images to {channels}")
    if image_size is not None and tuple(x.shape[1:3]) != tuple(image_size):
        from PIL import Image

        height, width = image_size
        resized = [
            np.asarray(Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).resize((width, height), Image.BILINEAR))
            for image in x
        ]
        x = np.stack(resized).reshape(len(x), height, width, x.shape[-1])
    return np.ascontiguousarray(x, dtype="uint8")


def read_image(path: Path) -> np.ndarray:
    """One image file as uint8 HxWxC (C = 1 or 3); DataError naming the file if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode = "L" if image.mode in ("1", "L", "I;16", "I", "F", "LA") else "RGB"
            array = np.asarray(image.convert(mode))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__})") from None
    return array[..., None] if array.ndim == 2 else array


# --- loaders: each returns x, y, x_test | None, y_test | None, class names --------------

Loaded = tuple[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None", list[str]]


def _digits(data: DataSpec) -> Loaded:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * 255.0 / 16.0).astype("uint8")[..., None]
    return x, digits.target.astype("int64"), None, None, [str(i) for i in range(10)]


def _cifar10(data: DataSpec) -> Loaded:
    if data.path is None:
        import keras

        (x, y), (x_test, y_test) = keras.datasets.cifar10.load_data()
        names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        return x, y.reshape(-1).astype("int64"), x_test, y_test.reshape(-1).astype("int64"), names
    folder = Path(data.path)
    batches = sorted(folder.glob("data_batch_*"))
    if not batches or not (folder / "test_batch").is_file():
        raise DataError(f"data.path: {folder} is not a cifar-10-batches-py folder (expected data_batch_* and test_batch)")
    x, y = zip(*(_cifar_batch(path) for path in batches))
    x_test, y_test = _cifar_batch(folder / "test_batch")
    names = [str(i) for i in range(10)]
    if (folder / "batches.meta").is_file():
        names = [n.decode() for n in _unpickle(folder / "batches.meta")[b"label_names"]]
    return np.concatenate(x), np.concatenate(y), x_test, y_test, names


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"{path}: not a CIFAR-10 batch file ({type(exc).__name__})") from None


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    rows = np.asarray(batch[b"data"], dtype="uint8")
    # Rows are channel-major: 1024 red, 1024 green, 1024 blue values.
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], dtype="int64")


def _keras_dataset(name: str, names: list[str]) -> Loaded:
    import keras

    (x, y), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    return x[..., None], y.astype("int64"), x_test[..., None], y_test.astype("int64"), names


def _mnist(data: DataSpec) -> Loaded:
    return _keras_dataset("mnist", [str(i) for i in range(10)])


def _fashion_mnist(data: DataSpec) -> Loaded:
    return _keras_dataset("fashion_mnist", FASHION_NAMES)


def _directory(data: DataSpec) -> Loaded:
    """One sub-folder per class; optional train/ and test/ folders laid out the same way."""
    root = Path(data.path)
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, test = _scan(root / "train"), _scan(root / "test")
        names = sorted(set(train) | set(test))
    else:
        train, test = _scan(root), {}
        names = sorted(train)
    if len(names) < 2:
        raise DataError(f"data.path: {root} needs one sub-folder of images per class (at least 2), found {len(names)}")
    files = [(path, names.index(label)) for label in sorted(train) for path in train[label]]
    test_files = [(path, names.index(label)) for label in sorted(test) for path in test[label]]
    images = [read_image(path) for path, _ in files + test_files]
    size = tuple(data.image_size) if data.image_size else Counter(i.shape[:2] for i in images).most_common(1)[0][0]
    channels = data.channels or (3 if any(i.shape[-1] == 3 for i in images) else 1)
    converted = np.concatenate([to_images(i[None], size, channels) for i in images]) if images else np.zeros((0,))
    labels = np.array([label for _, label in files + test_files], dtype="int64")
    n = len(files)
    if not test_files:
        return converted[:n], labels[:n], None, None, names
    return converted[:n], labels[:n], converted[n:], labels[n:], names


def _scan(folder: Path) -> dict[str, list[Path]]:
    classes = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            classes[sub.name] = files
    return classes


def _npz(data: DataSpec) -> Loaded:
    """Arrays x_train, y_train (required), x_test, y_test, class_names (optional)."""
    path = Path(data.path)
    try:
        arrays = dict(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as exc:
        raise DataError(f"data.path: {path} is not a readable .npz file ({exc})") from None
    missing = [k for k in ("x_train", "y_train") if k not in arrays]
    if missing:
        raise DataError(f"data.path: {path} lacks {', '.join(missing)} (has {', '.join(sorted(arrays))})")
    has_test = "x_test" in arrays and "y_test" in arrays
    labels = np.concatenate([arrays["y_train"], arrays["y_test"]]) if has_test else arrays["y_train"]
    values = sorted(set(labels.reshape(-1).tolist()))
    index = {v: i for i, v in enumerate(values)}
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else [str(v) for v in values]

    def images(key: str) -> np.ndarray:
        x = arrays[key]
        if x.ndim not in (3, 4):
            raise DataError(f"data.path: {path}: {key} must be (N, H, W) or (N, H, W, C), got shape {x.shape}")
        if x.dtype == np.uint8:
            return x
        if np.issubdtype(x.dtype, np.floating) and np.nanmin(x) >= 0 and np.nanmax(x) <= 1:
            return np.round(x * 255).astype("uint8")
        raise DataError(f"data.path: {path}: {key} must be uint8 (0-255) or float in [0, 1], got {x.dtype}")

    def encode(y: np.ndarray) -> np.ndarray:
        return np.array([index[v] for v in y.reshape(-1).tolist()], dtype="int64")

    x_test = images("x_test") if has_test else None
    y_test = encode(arrays["y_test"]) if has_test else None
    return images("x_train"), encode(arrays["y_train"]), x_test, y_test, names


_LOADERS = {
    "digits": _digits,
    "cifar10": _cifar10,
    "mnist": _mnist,
    "fashion_mnist": _fashion_mnist,
    "directory": _directory,
    "npz": _npz,
}
