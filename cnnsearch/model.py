"""Params -> keras.Model. Pure Keras: no Optuna, no MLflow, no TensorFlow-only calls.

Preprocessing (rescaling raw 0-255 pixels) and augmentation are layers inside the
model, so augmentation runs on the accelerator, only in training, and an exported
model takes raw images.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

AUGMENTATION = "augmentation"


def build(
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    num_classes: int,
    augment: bool = True,
    input_dtype: str = "float32",
) -> keras.Model:
    """The plain CNN for these params; the same params always give the same architecture.

    ``augment=False, input_dtype="uint8"`` gives the inference twin that exports use.
    """
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="image")
    x = inputs
    augmentation = build_augmentation(params) if augment else None
    if augmentation is not None:
        x = augmentation(x)
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(x)

    height, width = input_shape[0], input_shape[1]
    for block in range(params["blocks"]):
        filters = max(1, int(round(params["filters"] * params["filter_growth"] ** block)))
        for conv in range(params["convs_per_block"]):
            name = f"block{block + 1}_conv{conv + 1}"
            x = layers.Conv2D(
                filters,
                params["kernel_size"],
                padding="same",
                use_bias=not params["batch_norm"],
                name=name,
            )(x)
            if params["batch_norm"]:
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        # Pool while there is room: small images (digits are 8x8) keep their last pixels.
        if min(height, width) >= 2:
            x = layers.MaxPooling2D(2, name=f"block{block + 1}_pool")(x)
            height, width = height // 2, width // 2
        if params["dropout"] > 0:
            x = layers.Dropout(params["dropout"], name=f"block{block + 1}_dropout")(x)

    if params["head"] == "flatten":
        x = layers.Flatten(name="flatten")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="global_average")(x)
    if params["dense_units"] > 0:
        x = layers.Dense(params["dense_units"], activation="relu", name="dense")(x)
        if params["dropout"] > 0:
            x = layers.Dropout(params["dropout"], name="dense_dropout")(x)
    # float32 output keeps softmax stable under mixed precision.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="cnnsearch_cnn")


def inference_model(
    trained: keras.Model, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> keras.Model:
    """The trained model without augmentation, taking raw uint8 images; weights copied by layer name.

    Random augmentation ops do not convert to ONNX or LiteRT, and have no place at inference.
    """
    twin = build(params, input_shape, num_classes, augment=False, input_dtype="uint8")
    for layer in twin.layers:
        if layer.weights:
            layer.set_weights(trained.get_layer(layer.name).get_weights())
    return twin


def build_augmentation(params: dict[str, Any]) -> keras.Sequential | None:
    """Random augmentation on raw 0-255 pixels; Keras runs these layers only in training."""
    steps: list[layers.Layer] = []
    if params.get("flip", "none") != "none":
        steps.append(layers.RandomFlip(params["flip"], name="flip"))
    if params.get("rotation", 0.0) > 0:
        steps.append(layers.RandomRotation(params["rotation"], fill_mode="nearest", name="rotation"))
    if params.get("translation", 0.0) > 0:
        t = params["translation"]
        steps.append(layers.RandomTranslation(t, t, fill_mode="nearest", name="translation"))
    if params.get("zoom", 0.0) > 0:
        steps.append(layers.RandomZoom(params["zoom"], fill_mode="nearest", name="zoom"))
    if params.get("contrast", 0.0) > 0:
        steps.append(layers.RandomContrast(params["contrast"], value_range=(0, 255), name="contrast"))
    return keras.Sequential(steps, name=AUGMENTATION) if steps else None
