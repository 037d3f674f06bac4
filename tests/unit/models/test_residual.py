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
