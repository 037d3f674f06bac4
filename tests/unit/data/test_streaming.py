"""Streaming past data.memory_limit: memory-mapped splits equal the in-memory ones, and their batches
hold the same images with the same labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from cnnsearch.data import batches, is_streamed, load
from cnnsearch.spec import DataSpec, parse_bytes


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
    for name in ("x_train", "x_val", "x_test"):
        assert is_streamed(getattr(mapped, name))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(held, name), getattr(mapped, name))
    again = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=3)  # reuses the files
    assert again.x_train.filename == mapped.x_train.filename  # type: ignore[attr-defined]


def test_batches_hold_the_same_images_and_labels_as_the_arrays(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images")
    mapped = load(DataSpec(dataset="directory", path=str(root), memory_limit="1KB"), seed=0)
    x, y = mapped.x_train, mapped.y_train
    stream = batches(x, y, batch_size=5, shuffle=True, seed=1)
    held = batches(np.array(x), np.array(y), batch_size=5, shuffle=True, seed=1)
    assert len(stream) == -(-len(y) // 5)
    lookup = {image.tobytes(): label for image, label in zip(np.asarray(x), y)}
    for _ in range(2):
        seen: list[bytes] = []
        for i in range(len(stream)):
            xb, yb = stream[i]
            hb = held[i]
            np.testing.assert_array_equal(xb, hb[0])
            np.testing.assert_array_equal(yb, hb[1])
            assert [lookup[image.tobytes()] for image in xb] == yb.tolist()  # each label stays with its image
            seen.extend(image.tobytes() for image in xb)
        assert sorted(seen) == sorted(lookup)  # one epoch: every image once
        stream.on_epoch_end()
        held.on_epoch_end()
    ordered = batches(x, y, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(ordered[0][1], y[:4])


@pytest.mark.slow
def test_training_on_a_stream_learns_as_training_on_arrays(tmp_path: Path) -> None:
    import keras

    from cnnsearch.training import fit

    rng = np.random.default_rng(0)
    for c, name in enumerate(("red", "green", "blue")):  # each class: its own colour, under noise
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(20):
            pixels = rng.integers(0, 120, (8, 8, 3))
            pixels[..., c] += 120
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "images" / name / f"{i}.png")
    spec = DataSpec(dataset="directory", path=str(tmp_path / "images"), validation_split=0.25)
    results = {}
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
        params = {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 8, "epochs": 4}
        history = fit(model, splits, params, callbacks=[])
        results[limit] = history.history
    held, streamed = results[None], results["1KB"]
    assert len(streamed["loss"]) == len(held["loss"]) == 4 and "val_accuracy" in streamed
    assert streamed["loss"][-1] < streamed["loss"][0]
    assert abs(streamed["val_accuracy"][-1] - held["val_accuracy"][-1]) <= 0.2  # different shuffles: noise only
