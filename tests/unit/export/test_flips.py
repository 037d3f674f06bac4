"""Test-time flips: the mean of the model on an image and its mirror, in every format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import TINY_PLAIN

PARAMS: dict[str, Any] = {**TINY_PLAIN, "head": "flatten"}  # flatten keeps position: a mirror gets other probabilities


def _model_and_images() -> tuple[Any, np.ndarray]:
    from cnnsearch.models import build

    model = build(PARAMS, (6, 5, 3), 4, augment=False, input_dtype="uint8")
    images = np.random.default_rng(0).integers(0, 256, (12, 6, 5, 3), dtype=np.uint8)
    return model, images


def test_the_output_is_the_mean_over_each_image_and_its_mirror(tmp_path: Path) -> None:
    import keras

    from cnnsearch.export import with_flips

    model, images = _model_and_images()
    plain = np.asarray(model.predict(images, verbose=0))
    mirrored = np.asarray(model.predict(images[:, :, ::-1], verbose=0))
    assert np.abs(plain - mirrored).max() > 1e-4  # the mirror really is another view here
    flipped = with_flips(model)
    probs = np.asarray(flipped.predict(images, verbose=0))
    np.testing.assert_allclose(probs, (plain + mirrored) / 2, atol=1e-6)
    # Built-in layers only: the file loads back without custom objects.
    flipped.save(tmp_path / "flipped.keras")
    again = keras.models.load_model(tmp_path / "flipped.keras")
    np.testing.assert_allclose(np.asarray(again.predict(images, verbose=0)), probs, atol=1e-6)
    keras.backend.clear_session()


@pytest.mark.parametrize("name", ["onnx", "tflite"])
def test_the_flipped_model_converts_and_agrees(tmp_path: Path, name: str) -> None:
    import keras

    from cnnsearch.export import with_flips
    from cnnsearch.export._formats import check_available, write_and_verify

    check_available([name])
    model, images = _model_and_images()
    flipped = with_flips(model)
    probs = np.asarray(flipped.predict(images, verbose=0))
    agreement = write_and_verify(name, flipped, tmp_path, images, probs.argmax(1), probs)
    assert agreement.ok and agreement.max_prob_diff < 1e-4
    keras.backend.clear_session()


@pytest.mark.parametrize(
    ("setting", "flip", "expected"),
    [
        ("auto", "horizontal", True),
        ("auto", "horizontal_and_vertical", True),
        ("auto", "vertical", False),
        ("auto", "none", False),
        ("on", "none", True),
        ("off", "horizontal", False),
    ],
)
def test_auto_flips_only_what_trained_with_horizontal_flips(
    tmp_path: Path, setting: str, flip: str, expected: bool
) -> None:
    from cnnsearch.export import wants_flips
    from cnnsearch.spec import load_spec

    path = tmp_path / "spec.toml"
    path.write_text(f'[study]\nname = "s"\n[data]\ndataset = "digits"\n[export]\ntest_time_flips = "{setting}"\n')
    assert wants_flips(load_spec(path), {"flip": flip}) is expected
    assert wants_flips(load_spec(path), {}) is (setting == "on")  # a spec without the flip param
