"""Dataset loaders on real data (digits, the CIFAR-10 subset) and on files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnsearch.data import load
from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec

CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"


def test_digits_splits_are_stratified_and_disjoint() -> None:
    splits = load(DataSpec(dataset="digits", validation_split=0.1, test_split=0.2), seed=0)
    assert splits.x_train.dtype == np.uint8 and splits.x_train.shape[1:] == (8, 8, 1)
    assert splits.x_train.max() == 255
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 1797
    assert len(splits.x_test) == 360
    assert set(splits.y_val) == set(range(10)) == set(splits.y_test)
    again = load(DataSpec(dataset="digits", validation_split=0.1, test_split=0.2), seed=0)
    np.testing.assert_array_equal(splits.x_test, again.x_test)  # same seed, same split
    train_rows = {row.tobytes() for row in splits.x_train}
    assert sum(row.tobytes() in train_rows for row in splits.x_test) < 5  # only pixel-identical duplicates


def test_resize_channels_and_subsample() -> None:
    splits = load(DataSpec(dataset="digits", image_size=[16, 12], channels=3, max_train_samples=300), seed=1)
    assert splits.x_train.shape[1:] == (16, 12, 3)
    assert len(splits.x_train) + len(splits.x_val) == 300
    assert splits.input_shape == (16, 12, 3) and splits.num_classes == 10


@pytest.mark.skipif(not CIFAR.is_dir(), reason="shared CIFAR-10 subset not present")
def test_cifar10_local_batches_of_any_size() -> None:
    splits = load(DataSpec(dataset="cifar10", path=str(CIFAR)), seed=0)
    assert len(splits.x_train) + len(splits.x_val) == 5170
    assert splits.x_test.shape == (1017, 32, 32, 3)
    assert splits.class_names[0] == "airplane" and len(splits.class_names) == 10


def test_cifar10_folder_without_batches(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a cifar-10-batches-py folder"):
        load(DataSpec(dataset="cifar10", path=str(tmp_path)), seed=0)


def _write_images(root: Path, classes: dict[str, int], size=(10, 12), mode: str = "RGB") -> None:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            Image.fromarray(rng.integers(0, 256, shape).astype("uint8"), mode).save(root / name / f"{i}.png")


def test_directory_mixed_sizes_and_modes(tmp_path: Path) -> None:
    _write_images(tmp_path / "imgs", {"cat": 12, "dog": 12})
    _write_images(tmp_path / "gray", {"fox": 12}, size=(20, 20), mode="L")
    (tmp_path / "gray" / "fox").rename(tmp_path / "imgs" / "fox")
    splits = load(DataSpec(dataset="directory", path=str(tmp_path / "imgs")), seed=0)
    assert splits.class_names == ["cat", "dog", "fox"]
    assert splits.input_shape == (12, 10, 3)  # most common size, RGB since some are colour
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 36
    sized = load(DataSpec(dataset="directory", path=str(tmp_path / "imgs"), image_size=[8, 8], channels=1), seed=0)
    assert sized.input_shape == (8, 8, 1)


def test_directory_with_train_and_test(tmp_path: Path) -> None:
    _write_images(tmp_path / "train", {"a": 10, "b": 10})
    _write_images(tmp_path / "test", {"a": 3, "b": 4})
    splits = load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)
    assert len(splits.x_test) == 7 and list(splits.y_test) == [0, 0, 0, 1, 1, 1, 1]
    assert len(splits.x_train) + len(splits.x_val) == 20


def test_directory_bad_image_names_the_file(tmp_path: Path) -> None:
    _write_images(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "b" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)


def test_npz_with_string_labels_and_float_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=rng.random((40, 6, 6)), y_train=np.array(["no", "yes"] * 20))
    splits = load(DataSpec(dataset="npz", path=str(path)), seed=0)
    assert splits.class_names == ["no", "yes"] and splits.input_shape == (6, 6, 1)
    assert splits.x_train.dtype == np.uint8
    np.savez(path, x_train=rng.integers(0, 256, (30, 6, 6, 3)).astype("uint8"), y_train=np.arange(30) % 3,
             x_test=np.zeros((6, 6, 6, 3), "uint8"), y_test=np.arange(6) % 3)
    splits = load(DataSpec(dataset="npz", path=str(path)), seed=0)
    assert len(splits.x_test) == 6 and len(splits.x_train) + len(splits.x_val) == 30


def test_npz_bad_dtype(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.full((10, 4, 4), 300, dtype="int32"), y_train=np.arange(10) % 2)
    with pytest.raises(DataError, match="x_train must be uint8"):
        load(DataSpec(dataset="npz", path=str(path)), seed=0)
