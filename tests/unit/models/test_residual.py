"""Residual networks: skip connections, stages that halve the image (built, never trained)."""

from __future__ import annotations

import keras
import numpy as np

from cnnsearch.models import build

NO_AUGMENT = {"flip": "none", "rotation": 0.0, "translation": 0.0, "zoom": 0.0, "contrast": 0.0}


def test_residual_blocks_add_skip_connections_and_halve_per_stage() -> None:
    params = {
        **NO_AUGMENT,
        "architecture": "residual",
        "residual_stages": 3,
        "residual_blocks_per_stage": 2,
        "residual_width": 8,
        "residual_dropout": 0.1,
        "residual_dense_units": 16,
    }
    model = build(params, (32, 32, 3), 10)
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 6
    assert [model.get_layer(f"stage{s}_block1_add").output.shape[1:] for s in (1, 2, 3)] == [
        (32, 32, 8),
        (16, 16, 16),
        (8, 8, 32),
    ]
    # The first block of a downsampling stage projects its shortcut; the others add the input itself.
    assert model.get_layer("stage2_block1_project") is not None
    assert "stage2_block2_project" not in [layer.name for layer in model.layers]
    assert model.get_layer("dense").units == 16 and model.output_shape == (None, 10)
    tiny = build({**params, "residual_stages": 4}, (8, 8, 1), 3)  # 8 -> 4 -> 2 -> 1: stops halving at 1 pixel
    assert tiny.predict(np.zeros((2, 8, 8, 1), "uint8"), verbose=0).shape == (2, 3)


def test_a_stem_stride_of_2_halves_the_image_before_the_stages_with_the_same_weights() -> None:
    params = {
        **NO_AUGMENT,
        "architecture": "residual",
        "residual_stages": 2,
        "residual_blocks_per_stage": 1,
        "residual_width": 8,
        "residual_dropout": 0.0,
        "residual_dense_units": 0,
    }
    full = build(params, (32, 32, 3), 10)  # no residual_stem_stride: older trials' params
    half = build({**params, "residual_stem_stride": 2}, (32, 32, 3), 10)
    assert full.get_layer("stem_conv").output.shape[1:] == (32, 32, 8)
    assert [half.get_layer(n).output.shape[1:] for n in ("stem_conv", "stage1_block1_add", "stage2_block1_add")] == [
        (16, 16, 8),
        (16, 16, 8),
        (8, 8, 16),
    ]
    assert half.count_params() == full.count_params()
    odd = build({**params, "residual_stem_stride": 2, "residual_stages": 3}, (7, 7, 1), 3)  # 7 -> 4 -> 2 -> 1
    assert odd.get_layer("stage3_block1_add").output.shape[1:3] == (1, 1)
