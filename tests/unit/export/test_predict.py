"""``cnnsearch predict`` on a damaged export: a malformed card or a model.keras that is not a Keras
model is one ``error:`` line naming the file and what was expected, and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import Invoke
from tests.helpers import TINY_PLAIN

CARD: dict[str, Any] = {"classes": ["a", "b", "c"], "input": {"shape": [8, 8, 1], "channels": 1, "dtype": "uint8"}}


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """An export folder as ``best --export`` leaves it, reduced to what predict reads: card, model, an image."""
    from cnnsearch.models import build

    directory = tmp_path / "export"
    directory.mkdir()
    (directory / "model_card.json").write_text(json.dumps(CARD))
    build(TINY_PLAIN, (8, 8, 1), 3, augment=False, input_dtype="uint8").save(directory / "model.keras")
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "seven.png")
    return directory


def test_a_whole_export_predicts(invoke: Invoke, export_dir: Path) -> None:
    result = invoke("predict", str(export_dir), str(export_dir.parent / "seven.png"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)[0]["predictions"]) == 3


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("8x8", 'input.shape: expected [height, width, channels] of positive integers, got "8x8"'),
        ([8, 8], "input.shape: expected [height, width, channels] of positive integers, got [8, 8]"),
        ([8, "8", 1], 'input.shape: expected [height, width, channels] of positive integers, got [8, "8", 1]'),
        ([8, 0, 1], "input.shape: expected [height, width, channels] of positive integers, got [8, 0, 1]"),
        ([8, 8, 3], "input.channels: expected 1 or 3, the last of input.shape [8, 8, 3], got 1"),
    ],
)
def test_malformed_card_shape(invoke: Invoke, export_dir: Path, shape: object, expected: str) -> None:
    card = export_dir / "model_card.json"
    card.write_text(json.dumps({**CARD, "input": {**CARD["input"], "shape": shape}}))
    before = card.read_bytes()
    line = invoke.error_line("predict", str(export_dir), str(export_dir.parent / "seven.png"))
    assert line == f"error: {card}: {expected}"
    assert card.read_bytes() == before


def test_card_without_class_names(invoke: Invoke, export_dir: Path) -> None:
    card = export_dir / "model_card.json"
    card.write_text(json.dumps({**CARD, "classes": []}))
    line = invoke.error_line("predict", str(export_dir), str(export_dir.parent / "seven.png"))
    assert line == f"error: {card}: classes: expected a list of class names, got []"


def test_garbage_model_is_not_reported_as_missing(invoke: Invoke, export_dir: Path) -> None:
    model = export_dir / "model.keras"
    model.write_bytes(b"garbage, not a zip archive")
    line = invoke.error_line("predict", str(export_dir), str(export_dir.parent / "seven.png"))
    assert line == f"error: {model}: not a Keras model (a .keras file is a zip archive); export it again"
    assert model.read_bytes() == b"garbage, not a zip archive"


def test_zip_that_is_not_a_keras_model(invoke: Invoke, export_dir: Path) -> None:
    import zipfile

    model = export_dir / "model.keras"
    model.unlink()
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("hello.txt", "not a model")
    line = invoke.error_line("predict", str(export_dir), str(export_dir.parent / "seven.png"))
    assert line.startswith(f"error: {model}: cannot load the Keras model: ")


def test_an_empty_file_says_so_and_no_empty_table_is_printed(invoke: Invoke, export_dir: Path) -> None:
    """0 bytes is its own reason (not "not an image"); with nothing predicted there is no table header."""
    empty = export_dir.parent / "empty.png"
    empty.write_bytes(b"")
    result = invoke("predict", str(export_dir), str(empty))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"error: {empty}: empty file (0 bytes)"
    missing = invoke("predict", str(export_dir), str(export_dir.parent / "missing.png"))
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.strip() == f"error: {export_dir.parent / 'missing.png'}: no such file"


def test_the_table_header_is_printed_when_some_file_was_predicted(invoke: Invoke, export_dir: Path) -> None:
    empty = export_dir.parent / "empty.png"
    empty.write_bytes(b"")
    result = invoke("predict", str(export_dir), str(export_dir.parent / "seven.png"), str(empty))
    assert result.exit_code == 1
    header, row = result.stdout.splitlines()
    assert header.split() == ["file", "top", "3", "classes", "(probability)"]
    assert row.startswith(str(export_dir.parent / "seven.png"))


def test_a_photo_is_prepared_as_the_decode_cache_prepares_it(invoke: Invoke, export_dir: Path) -> None:
    """A large JPEG is decoded at reduced size (PIL's draft) as training's cache decodes it, not at full size."""
    from PIL import Image

    from cnnsearch.data import BadFile, decode, read_image, to_images
    from cnnsearch.export import Predictor

    rng = np.random.default_rng(0)
    photo = export_dir.parent / "photo.jpg"
    Image.fromarray(rng.integers(0, 256, (480, 640, 3)).astype(np.uint8)).save(photo, quality=90)
    prepared = Predictor(export_dir).prepare(photo)
    cached = decode(photo, (8, 8), 1)
    assert not isinstance(cached, BadFile)
    np.testing.assert_array_equal(prepared, cached.image[None])
    assert prepared.shape == (1, 8, 8, 1) and prepared.dtype == np.uint8
    full = to_images(read_image(photo)[None], (8, 8), 1)
    assert not np.array_equal(prepared, full)  # the full-size decode differs: predict now matches training
    text = export_dir.parent / "notes.jpg"
    text.write_text("not a photo")
    line = invoke.error_line("predict", str(export_dir), str(text))
    assert line == f"error: {text}: not an image"
