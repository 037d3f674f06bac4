"""The registered model's input contract (``check_images``): what passes, what is refused and how it is said."""

from __future__ import annotations

import numpy as np
import pytest

from cnnsearch.tracking._pyfunc_model import InputError, check_images

SHAPE = (8, 8, 1)
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(3, *SHAPE), dtype=np.uint8)
IMAGES[0, 0, :2, 0] = 0, 255  # the whole range: 0 and 255 both occur


@pytest.mark.parametrize(
    "batch",
    [IMAGES, IMAGES.astype(np.int64), IMAGES.astype(np.float64), IMAGES.tolist(), IMAGES.astype(float).tolist()],
    ids=["uint8", "int64", "float 0-255", "JSON ints", "JSON floats"],
)
def test_whole_pixel_values_0_255_pass_as_the_same_uint8_images(batch: object) -> None:
    checked = check_images(batch, SHAPE)
    assert checked.dtype == np.uint8 and np.array_equal(checked, IMAGES)


def test_an_all_black_float_batch_is_an_image_not_a_scaling_mistake() -> None:
    assert not check_images(np.zeros((2, *SHAPE)), SHAPE).any()


@pytest.mark.parametrize(
    ("batch", "says"),
    [
        (IMAGES / 255.0, "this float batch lies within [0, 1] (max 1), as if scaled to [0, 1]: send round(v * 255)"),
        ((IMAGES > 127).astype(np.float32), "as if scaled to [0, 1]"),  # 0.0 and 1.0 only: still [0, 1] floats
        (IMAGES / 2, "whole numbers 0-255 (uint8); this batch has fractions"),
        (IMAGES.astype(np.int64) - 1, "pixel values must be 0-255 (uint8); this batch spans -1 to"),
        (IMAGES.astype(np.int64) * 2, "this batch spans 0 to 510"),
        (np.full((1, *SHAPE), np.nan), "NaN or infinity"),
        (IMAGES[:, :4], "images must be a batch shaped (N, 8, 8, 1); got shape (3, 4, 8, 1)"),
        (IMAGES[0], "images must be a batch shaped (N, 8, 8, 1); got shape (8, 8, 1)"),
        ([[[[0]]], [[[0], [1]]]], "the nested lists are ragged"),
        (IMAGES.astype(bool), "pixel values must be numbers 0-255 (uint8); got bool"),
        (np.array([["a"]]), "got shape (1, 1)"),
    ],
    ids=[
        "[0,1] floats",
        "binary floats",
        "fractions",
        "negative",
        "over 255",
        "nan",
        "size",
        "no batch",
        "ragged",
        "bool",
        "text",
    ],
)
def test_anything_else_is_refused_with_one_sentence_saying_what_to_send(batch: object, says: str) -> None:
    with pytest.raises(InputError) as refused:
        check_images(batch, SHAPE)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_dataframe_request_is_told_to_send_a_tensor() -> None:
    import pandas as pd

    with pytest.raises(InputError, match='as a tensor, {"inputs"'):
        check_images(pd.DataFrame({"a": [1, 2]}), SHAPE)


def test_the_module_is_self_contained_as_mlflow_logs_it_as_code() -> None:
    """Served without cnnsearch installed: the file may import nothing of cnnsearch."""
    from pathlib import Path

    import cnnsearch.tracking._pyfunc_model as module

    assert "cnnsearch" not in "".join(
        line for line in Path(module.__file__).read_text().splitlines() if line.startswith(("import ", "from "))
    )
