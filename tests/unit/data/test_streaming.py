"""Streaming past data.memory_limit: memory-mapped splits equal the in-memory ones, and their batches
hold the same images with the same labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from cnnsearch.data import batches, is_streamed, load
from cnnsearch.data._streaming import _py_dataset
from cnnsearch.spec import DataSpec, parse_bytes
from cnnsearch.training import resampled_rows


def _without_tensorflow(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0, rows: np.ndarray | None = None
) -> Any:
    """What :func:`batches` returns where TensorFlow is not installed."""
    return _py_dataset(x, y, batch_size, shuffle, seed, np.arange(len(y)) if rows is None else rows)


def _folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        (root / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (9, 11, 3)).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_sizes_parse_and_a_bad_one_is_a_spec_error() -> None:
    assert parse_bytes("512MB") == 512 * 10**6 and parse_bytes("2GiB") == 2 * 2**30 and parse_bytes("100") == 100
    with pytest.raises(ValidationError, match="expected a size such as '512MB'"):
        DataSpec(dataset="digits", memory_limit="lots")


def test_past_the_limit_splits_are_memory_mapped_and_equal_in_memory_ones(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images")
    held = load(DataSpec(dataset="directory", path=str(root)), seed=3)
    mapped = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=3)
    assert held.source is not None and not held.source.streamed and not is_streamed(held.x_train)
    assert mapped.source is not None and mapped.source.streamed
    assert mapped.source.streamed_because == "larger than the memory budget (data.memory_limit = '1KB': 1,000 bytes)"
    for name in ("x_train", "x_val", "x_test"):
        assert is_streamed(getattr(mapped, name))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(held, name), getattr(mapped, name))
    again = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=3)  # reuses the files
    assert again.x_train.filename == mapped.x_train.filename  # type: ignore[attr-defined]


def _epochs(stream: Any, count: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """``count`` epochs of a stream's batches as NumPy, whichever kind of stream it is."""
    out = []
    for _ in range(count):
        if isinstance(stream, keras.utils.PyDataset):
            out.append([tuple(np.asarray(a) for a in stream[i]) for i in range(len(stream))])
            stream.on_epoch_end()
        else:
            out.append([(np.asarray(xb), np.asarray(yb)) for xb, yb in stream])
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("kind", ["tf.data", "PyDataset"])
def test_batches_hold_the_same_images_and_labels_as_the_arrays(tmp_path: Path, kind: str) -> None:
    root = _folder(tmp_path / "images")
    mapped = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=0)
    x, y = mapped.x_train, mapped.y_train
    make = batches if kind == "tf.data" else _without_tensorflow
    stream, held = (make(a, b, batch_size=5, shuffle=True, seed=1) for a, b in ((x, y), (np.array(x), np.array(y))))
    assert len(stream) == -(-len(y) // 5)
    lookup = {image.tobytes(): label for image, label in zip(np.asarray(x), y)}
    streamed, in_memory = _epochs(stream, 2), _epochs(held, 2)
    for epoch, other in zip(streamed, in_memory):
        seen: list[bytes] = []
        for (xb, yb), (hx, hy) in zip(epoch, other, strict=True):
            np.testing.assert_array_equal(xb, hx)
            np.testing.assert_array_equal(yb, hy)
            assert [lookup[image.tobytes()] for image in xb] == yb.tolist()  # each label stays with its image
            seen.extend(image.tobytes() for image in xb)
        assert sorted(seen) == sorted(lookup)  # one epoch: every image once
    assert [b[1].tolist() for b in streamed[0]] != [b[1].tolist() for b in streamed[1]]  # reshuffled
    (first, *_), *_ = _epochs(make(x, y, batch_size=4, shuffle=False), 1)
    np.testing.assert_array_equal(first[1], y[:4])


@pytest.mark.parametrize("kind", ["tf.data", "PyDataset"])
def test_rows_serve_a_resampled_split_straight_from_the_file(tmp_path: Path, kind: str) -> None:
    root = _folder(tmp_path / "images")
    mapped = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=0)
    x, y = mapped.x_train, mapped.y_train
    rows = resampled_rows(np.array([0] * 3 + [1] * (len(y) - 3)), "oversample", np.random.default_rng(0))
    make = batches if kind == "tf.data" else _without_tensorflow
    (epoch,) = _epochs(make(x, y, batch_size=7, shuffle=True, seed=2, rows=rows), 1)
    served = np.concatenate([xb for xb, _ in epoch])
    wanted = np.asarray(x)[rows]
    assert rows is not None and len(served) == len(rows) > len(y)  # repeats included
    key = [image.tobytes() for image in wanted]
    assert sorted(image.tobytes() for image in served) == sorted(key)
    np.testing.assert_array_equal(np.sort(np.concatenate([yb for _, yb in epoch])), np.sort(np.asarray(y)[rows]))


def test_a_shared_folder_streams_whatever_the_budget(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images")
    shared = load(DataSpec(dataset="directory", path=str(root)), seed=3, shared=True)
    alone = load(DataSpec(dataset="directory", path=str(root)), seed=3)
    assert shared.source is not None and shared.source.streamed and is_streamed(shared.x_train)
    assert shared.source.streamed_because == "one copy shared by the worker processes"
    assert alone.source is not None and not alone.source.streamed
    np.testing.assert_array_equal(shared.x_train, alone.x_train)


@pytest.mark.slow
@pytest.mark.parametrize("imbalance", [{}, {"class_weight": "balanced", "sampling": "oversample"}])
def test_training_on_a_stream_learns_as_training_on_arrays(tmp_path: Path, imbalance: dict[str, str]) -> None:
    import keras

    from cnnsearch.training import fit

    rng = np.random.default_rng(0)
    for c, name in enumerate(("red", "green", "blue")):  # each class: its own colour, under noise; blue is rare
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(8 if name == "blue" else 20):
            pixels = rng.integers(0, 120, (8, 8, 3))
            pixels[..., c] += 120
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "images" / name / f"{i}.png")
    spec = DataSpec(dataset="directory", path=str(tmp_path / "images"), validation_split=0.25)

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.per_epoch: list[int] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.per_epoch.append(0)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.per_epoch[-1] += 1

    results, steps = {}, {}
    for limit in (None, "1KB"):
        splits = load(spec.model_copy(update={"memory_limit": limit}), seed=0)
        assert is_streamed(splits.x_train) == (limit is not None)
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((8, 8, 3)),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Flatten(),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        params = {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 8, "epochs": 4, **imbalance}
        counter = Steps()
        history = fit(model, splits, params, callbacks=[counter])
        results[limit], steps[limit] = history.history, counter.per_epoch
    held, streamed = results[None], results["1KB"]
    assert len(streamed["loss"]) == len(held["loss"]) == 4 and "val_accuracy" in streamed
    assert streamed["loss"][-1] < streamed["loss"][0]
    assert abs(streamed["val_accuracy"][-1] - held["val_accuracy"][-1]) <= 0.2  # different shuffles: noise only
    counts = np.bincount(splits.y_train)
    served = 3 * counts.max() if imbalance else counts.sum()  # oversampled: every class up to the largest
    assert steps[None] == steps["1KB"] == [-(-int(served) // 8)] * 4


@pytest.mark.slow
def test_unshuffled_training_on_a_stream_gives_the_weights_of_training_on_the_arrays(tmp_path: Path) -> None:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (300, 8, 8, 3)).astype(np.uint8), rng.integers(0, 3, 300)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    trained = []
    for inputs in ((x, y), (batches(mapped, y, 64, shuffle=False),)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(3)]
        )
        model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(*inputs, batch_size=None if len(inputs) == 1 else 64, epochs=2, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    for held, streamed in zip(*trained, strict=True):
        np.testing.assert_array_equal(held, streamed)
