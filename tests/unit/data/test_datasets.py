"""Dataset loaders on real data (digits, the CIFAR-10 subset) and on files the tests write."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnsearch.data import Splits, load, read_image, to_images
from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec

#: The checkout's parent folder holds shared/ (tests/unit/data/ -> tests/unit -> tests -> repo -> its parent).
CIFAR = Path(__file__).resolve().parents[4] / "shared/data/cifar10-subset/cifar-10-batches-py"
needs_cifar = pytest.mark.skipif(not CIFAR.is_dir(), reason="shared CIFAR-10 subset not present")


def _rows(x: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in x}


# --- digits ---------------------------------------------------------------------------


def test_digits_shapes_values_and_split_sizes() -> None:
    splits = load(DataSpec(dataset="digits", validation_split=0.1, test_split=0.2), seed=0)
    assert isinstance(splits, Splits)
    assert splits.x_train.dtype == np.uint8 and splits.y_train.dtype == np.int64
    assert splits.x_train.shape[1:] == (8, 8, 1) and splits.input_shape == (8, 8, 1)
    assert splits.class_names == [str(i) for i in range(10)] and splits.num_classes == 10
    # 0..16 scaled to 0..255 by round(v * 255 / 16): only those 17 levels appear.
    levels = {round(v * 255 / 16) for v in range(17)}
    assert set(np.unique(splits.x_train).tolist()) <= levels and splits.x_train.max() == 255
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (1293, 144, 360)
    assert len(splits.y_train) == 1293 and len(splits.y_val) == 144 and len(splits.y_test) == 360


def test_digits_splits_are_stratified_deterministic_and_disjoint() -> None:
    spec = DataSpec(dataset="digits", validation_split=0.1, test_split=0.2)
    splits = load(spec, seed=0)
    assert set(splits.y_val.tolist()) == set(range(10)) == set(splits.y_test.tolist())
    # Stratified: every class holds about a tenth of each split (sizes 13..16 of 144 in val).
    assert np.bincount(splits.y_val, minlength=10).min() >= 13
    assert np.bincount(splits.y_test, minlength=10).min() >= 34
    again = load(spec, seed=0)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(splits, name), getattr(again, name))
    other = load(spec, seed=1)
    assert not np.array_equal(splits.x_test, other.x_test)
    # Splits are disjoint (digits holds a few pixel-identical images, hence "< 5").
    assert len(_rows(splits.x_test) & _rows(splits.x_train)) < 5
    assert len(_rows(splits.x_test) & _rows(splits.x_val)) < 5


def test_digits_resize_to_rgb_and_subsample_leaves_test_alone() -> None:
    full = load(DataSpec(dataset="digits", image_size=[16, 12], channels=3), seed=3)
    small = load(DataSpec(dataset="digits", image_size=[16, 12], channels=3, max_train_samples=300), seed=3)
    assert small.x_train.shape[1:] == (16, 12, 3) and small.input_shape == (16, 12, 3)
    assert np.array_equal(small.x_train[..., 0], small.x_train[..., 2])  # gray copied into R, G, B
    assert len(small.x_train) + len(small.x_val) == 300 and len(small.x_val) == 30
    assert set(small.y_val.tolist()) == set(range(10))  # stratified subsample, then stratified val
    np.testing.assert_array_equal(small.x_test, full.x_test)
    np.testing.assert_array_equal(small.y_test, full.y_test)


def test_too_few_images_to_split_is_a_data_error() -> None:
    with pytest.raises(DataError, match="validation_split"):
        load(DataSpec(dataset="digits", max_train_samples=1), seed=0)
    # Fewer samples than classes cannot be stratified: a plain split instead of a crash.
    splits = load(DataSpec(dataset="digits", max_train_samples=8, validation_split=0.25), seed=0)
    assert (len(splits.x_train), len(splits.x_val)) == (6, 2)


# --- to_images / read_image ----------------------------------------------------------------


def test_to_images_resizes_and_converts_like_pil() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (2, 6, 5, 3)).astype(np.uint8)
    gray = to_images(rgb, (4, 3), 1)
    expected = np.asarray(Image.fromarray(rgb[1]).convert("L").resize((3, 4), Image.Resampling.BILINEAR))
    assert gray.shape == (2, 4, 3, 1)
    assert np.abs(gray[1, ..., 0].astype(int) - expected).max() <= 2  # convert/resize order differs
    same = to_images(rgb, (6, 5), None)
    np.testing.assert_array_equal(same, rgb)
    plain = to_images(rgb[..., 0], None, 3)  # (N, H, W) gains a channel axis, then becomes RGB
    assert plain.shape == (2, 6, 5, 3) and np.array_equal(plain[..., 1], rgb[..., 0])
    rgba = np.concatenate([rgb, np.full((2, 6, 5, 1), 9, np.uint8)], axis=-1)
    np.testing.assert_array_equal(to_images(rgba, None, 3), rgb)  # alpha dropped
    assert to_images(rng.random((1, 4, 4)), None, None).dtype == np.uint8  # floats in [0, 1] scaled
    with pytest.raises(DataError, match="uint8"):
        to_images(np.full((1, 4, 4), 2.5), None, None)


def test_read_image_modes(tmp_path: Path) -> None:
    Image.new("L", (5, 4), 7).save(tmp_path / "gray.png")
    Image.new("RGBA", (5, 4), (1, 2, 3, 0)).save(tmp_path / "rgba.png")
    Image.new("P", (5, 4)).save(tmp_path / "palette.gif")
    Image.fromarray(np.full((4, 5), 65535, np.uint16)).save(tmp_path / "deep.png")
    gray = read_image(tmp_path / "gray.png")
    assert gray.shape == (4, 5, 1) and gray.dtype == np.uint8 and gray.max() == 7
    assert read_image(tmp_path / "rgba.png").tolist()[0][0] == [1, 2, 3]
    assert read_image(tmp_path / "palette.gif").shape == (4, 5, 3)
    assert read_image(str(tmp_path / "deep.png")).max() == 255  # 16-bit scaled, not clipped
    with pytest.raises(DataError, match="missing.png: not a readable image"):
        read_image(tmp_path / "missing.png")


# --- CIFAR-10 ----------------------------------------------------------------------------


@needs_cifar
def test_cifar10_local_subset_with_batches_of_any_size() -> None:
    splits = load(DataSpec(dataset="cifar10", path=str(CIFAR)), seed=0)
    assert len(splits.x_train) + len(splits.x_val) == 5170
    assert splits.x_test.shape == (1017, 32, 32, 3) and splits.x_test.dtype == np.uint8
    assert splits.input_shape == (32, 32, 3)
    assert splits.class_names[0] == "airplane" and len(splits.class_names) == 10
    assert set(splits.y_val.tolist()) == set(range(10))
    # The test set is the test_batch in its own order, rows read channel-major (R, then G, then B).
    with open(CIFAR / "test_batch", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")
    first = np.asarray(raw[b"data"][0], np.uint8)
    np.testing.assert_array_equal(splits.x_test[0, :, :, 0].reshape(-1), first[:1024])
    np.testing.assert_array_equal(splits.x_test[0, :, :, 2].reshape(-1), first[2048:])
    assert splits.y_test.tolist() == list(raw[b"labels"])


@needs_cifar
def test_cifar10_parent_folder_and_subsample() -> None:
    splits = load(DataSpec(dataset="cifar10", path=str(CIFAR.parent), max_train_samples=500), seed=0)
    assert len(splits.x_train) + len(splits.x_val) == 500 and len(splits.x_test) == 1017


def test_cifar10_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"{tmp_path.name} is not a cifar-10-batches-py folder.*data_batch"):
        load(DataSpec(dataset="cifar10", path=str(tmp_path)), seed=0)
    (tmp_path / "data_batch_1").write_bytes(b"definitely not a pickle")
    (tmp_path / "test_batch").write_bytes(b"")
    with pytest.raises(DataError, match="data_batch_1: not a CIFAR-10 batch file"):
        load(DataSpec(dataset="cifar10", path=str(tmp_path)), seed=0)
    with open(tmp_path / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": np.zeros((4, 1000), np.uint8), b"labels": [0, 1, 0, 1]}, handle)
    with pytest.raises(DataError, match=r"data_batch_1: expected uint8 data of shape \(N, 3072\)"):
        load(DataSpec(dataset="cifar10", path=str(tmp_path)), seed=0)


# --- image folders -------------------------------------------------------------------------


def _write_images(
    root: Path, classes: dict[str, int], size: tuple[int, int] = (10, 12), mode: str = "RGB", seed: int = 0
) -> None:
    """count PNGs of random pixels per class folder; size is PIL's (width, height)."""
    rng = np.random.default_rng([len(classes), seed])
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            Image.fromarray(rng.integers(0, 256, shape).astype(np.uint8)).convert(mode).save(root / name / f"{i}.png")


def test_directory_mixed_sizes_and_modes(tmp_path: Path) -> None:
    _write_images(tmp_path, {"cat": 10, "dog": 10})
    _write_images(tmp_path, {"fox": 10}, size=(20, 20), mode="L")
    (tmp_path / "dog" / "notes.txt").write_text("not an image, ignored")
    (tmp_path / ".cache").mkdir()  # hidden folders are not classes
    Image.new("RGB", (4, 4)).save(tmp_path / ".cache" / "x.png")
    splits = load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)
    assert splits.class_names == ["cat", "dog", "fox"]
    assert splits.input_shape == (12, 10, 3)  # most common size (H, W); RGB since some are colour
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 30
    foxes = np.concatenate([splits.x_train[splits.y_train == 2], splits.x_test[splits.y_test == 2]])
    assert len(foxes) and np.array_equal(foxes[..., 0], foxes[..., 1])  # grayscale foxes copied into RGB
    sized = load(DataSpec(dataset="directory", path=str(tmp_path), image_size=[8, 6], channels=1), seed=0)
    assert sized.input_shape == (8, 6, 1) and sized.x_test.shape[1:] == (8, 6, 1)


def test_directory_all_grayscale_stays_one_channel(tmp_path: Path) -> None:
    _write_images(tmp_path, {"a": 5, "b": 5}, mode="L")
    assert load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0).input_shape == (12, 10, 1)


def test_directory_with_train_and_test_folders(tmp_path: Path) -> None:
    _write_images(tmp_path / "train", {"a": 10, "b": 10})
    _write_images(tmp_path / "test", {"a": 3, "b": 4}, seed=1)  # not copies of the training images
    splits = load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)
    assert splits.class_names == ["a", "b"]
    assert splits.y_test.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert len(splits.x_train) + len(splits.x_val) == 20


def test_directory_classes_that_are_named_train_and_test(tmp_path: Path) -> None:
    _write_images(tmp_path, {"train": 5, "test": 5})  # images directly inside: two classes
    assert load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0).class_names == ["test", "train"]


def test_directory_bad_images_are_skipped_and_named(tmp_path: Path) -> None:
    _write_images(tmp_path, {"a": 6, "b": 6})
    (tmp_path / "b" / "broken.png").write_bytes(b"not an image")
    whole = (tmp_path / "a" / "0.png").read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(whole[: len(whole) // 2])  # a truncated PNG
    splits = load(DataSpec(dataset="directory", path=str(tmp_path), max_bad_fraction=0.2), seed=0)
    assert splits.source is not None
    assert {(b.path.name, b.reason.split(" ")[0]) for b in splits.source.bad} == {
        ("broken.png", "not"),
        ("cut.png", "truncated"),
    }
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 12  # every other file is used
    with pytest.raises(DataError, match=r"2 of 14 image files \(14%\) cannot be read.*max_bad_fraction = 0.1"):
        load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)


def test_directory_without_two_classes(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs one sub-folder of images.*found 0"):
        load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)
    _write_images(tmp_path, {"only": 4})
    with pytest.raises(DataError, match="at least 2, found 1"):
        load(DataSpec(dataset="directory", path=str(tmp_path)), seed=0)


# --- npz ------------------------------------------------------------------------------------


def test_npz_string_labels_and_float_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    pixels = rng.random((40, 6, 6))
    np.savez(path, x_train=pixels, y_train=np.array(["yes", "no"] * 20))
    splits = load(DataSpec(dataset="npz", path=str(path)), seed=0)
    assert splits.class_names == ["no", "yes"] and splits.input_shape == (6, 6, 1)
    assert splits.x_train.dtype == np.uint8 and len(splits.x_test) == 8  # carved: 0.2 of 40
    everything = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    assert _rows(everything) == _rows(np.round(pixels * 255).astype(np.uint8)[..., None])


def test_npz_with_test_arrays_and_class_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    x_test = rng.integers(0, 256, (6, 5, 5, 3)).astype(np.uint8)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (30, 5, 5, 3)).astype(np.uint8),
        y_train=np.arange(30) % 3,
        x_test=x_test,
        y_test=np.array([2, 1, 0, 2, 1, 0]),
        class_names=np.array(["ant", "bee", "cat"]),
    )
    splits = load(DataSpec(dataset="npz", path=str(path)), seed=0)
    assert splits.class_names == ["ant", "bee", "cat"]
    np.testing.assert_array_equal(splits.x_test, x_test)  # the test set as given, untouched
    assert splits.y_test.tolist() == [2, 1, 0, 2, 1, 0]
    assert len(splits.x_train) + len(splits.x_val) == 30
    # Labels that are not 0..K-1 are remapped in sorted order.
    np.savez(path, x_train=np.zeros((20, 4, 4), np.uint8), y_train=np.array([7, 3] * 10))
    splits = load(DataSpec(dataset="npz", path=str(path)), seed=0)
    assert splits.class_names == ["3", "7"] and set(splits.y_train.tolist()) == {0, 1}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x_train": np.full((10, 4, 4), 300, np.int32), "y_train": np.arange(10) % 2}, "x_train must be uint8"),
        ({"x_train": np.full((10, 4, 4), 1.5), "y_train": np.arange(10) % 2}, "float in \\[0, 1\\]"),
        ({"x_train": np.zeros((10, 4, 4), np.uint8)}, "lacks y_train"),
        ({"x_train": np.zeros((10, 4, 4), np.uint8), "y_train": np.arange(9) % 2}, "10 images but y_train has 9"),
        ({"x_train": np.zeros((10, 16), np.uint8), "y_train": np.arange(10) % 2}, "\\(N, H, W\\)"),
        ({"x_train": np.zeros((10, 4, 4), np.uint8), "y_train": np.zeros(10, np.int64)}, "at least 2 classes"),
        ({"x_train": np.zeros((10, 4, 4), np.uint8), "y_train": np.arange(10) / 4}, "integers or strings"),
    ],
)
def test_npz_errors(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub takes allow_pickle for **kwds
    with pytest.raises(DataError, match=message):
        load(DataSpec(dataset="npz", path=str(path)), seed=0)


def test_npz_that_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes(b"plain text, not numpy")
    with pytest.raises(DataError, match="d.npz is not a readable .npz archive"):
        load(DataSpec(dataset="npz", path=str(path)), seed=0)
