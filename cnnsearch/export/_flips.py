"""Test-time flips: the shipped model averages its probabilities on each image and its mirror.

Why: a network trained with horizontal flips was taught that an image and its mirror are
the same class, so the mirror is a second, free view of every test image; averaging both
is an ensemble that costs one more forward pass and no training (docs/benchmarks.md has
the measurements behind ``[export] test_time_flips``).

The mirror is built from built-in layers only (a fixed permutation of the width axis as a
frozen ``Dense``), so the exported ``.keras`` file still loads without custom objects and
converts to ONNX and LiteRT like any other model.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnnsearch.spec import Spec

#: The ``flip`` augmentations that include the horizontal mirror.
MIRRORED = ("horizontal", "horizontal_and_vertical")


def wants_flips(spec: Spec, params: dict[str, Any]) -> bool:
    """Whether ``[export] test_time_flips`` applies to a model trained with ``params``.

    ``auto``: when the params trained with horizontal flips; ``on``/``off``: always/never.
    """
    setting = spec.export.test_time_flips
    if setting == "auto":
        return params.get("flip", "none") in MIRRORED
    return setting == "on"


def with_flips(model: keras.Model) -> keras.Model:
    """One model whose output is the mean of ``model`` on the image and on its horizontal mirror."""
    height, width, channels = model.input_shape[1:]
    inputs = keras.Input(shape=(height, width, channels), dtype=model.inputs[0].dtype, name="image")
    # (H, W, C) -> (H, C, W), reverse W by a fixed 0/1 matrix (exact: one term per output), back.
    across = keras.layers.Permute((1, 3, 2), name="width_last")(inputs)
    reverse = keras.layers.Dense(width, use_bias=False, trainable=False, dtype="float32", name="mirror")
    mirrored = keras.layers.Permute((1, 3, 2), name="width_back")(reverse(across))
    reverse.set_weights([np.eye(width, dtype="float32")[::-1].copy()])
    name = model.name
    model.name = "unflipped"
    outputs = [model(inputs), model(mirrored)]
    mean = keras.layers.Average(name="mean_of_mirrors", dtype="float32")(outputs)
    return keras.Model(inputs, mean, name=f"{name}_with_flips")
