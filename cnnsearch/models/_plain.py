"""Params -> keras.Model. Pure Keras: no Optuna, no MLflow, no TensorFlow-only calls.

Preprocessing (rescaling raw 0-255 pixels) and augmentation are layers inside the
model, so augmentation runs on the accelerator, only in training, and an exported
model takes raw images. ``params["architecture"]`` picks the trunk: the plain conv
stack (here), residual stages (``_residual.py``) or a Keras Applications backbone
(``_backbones.py``); all end in the same kind of head.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from cnnsearch.models import _backbones as backbones
from cnnsearch.models._residual import BN_MOMENTUM, residual_trunk

AUGMENTATION = "augmentation"


def build(
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    num_classes: int,
    augment: bool = True,
    input_dtype: str = "float32",
) -> keras.Model:
    """The network for these params; the same params always give the same architecture.

    ``augment=False, input_dtype="uint8"`` gives the inference twin that exports use.
    Params without ``architecture`` (older trials) mean the plain CNN.
    """
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="image")
    x = inputs
    augmentation = build_augmentation(params) if augment else None
    if augmentation is not None:
        x = augmentation(x)
    architecture = params.get("architecture", "plain")
    if architecture == "plain":
        return _plain(inputs, x, params, input_shape, num_classes)
    if architecture == "residual":
        x = layers.Rescaling(1.0 / 255.0, name="rescale")(x)
        x = residual_trunk(x, params, input_shape[0], input_shape[1])
        x = layers.GlobalAveragePooling2D(name="global_average")(x)
        outputs = _head(x, params["residual_dropout"], params["residual_dense_units"], num_classes)
        return keras.Model(inputs, outputs, name="cnnsearch_resnet")
    if architecture in backbones.APPLICATIONS:
        size = backbones.input_size(params, input_shape)
        x = backbones.adapt_inputs(x, architecture, input_shape, size)
        backbone = backbones.create(architecture, params, size)
        # The head trains first when a fine-tuning phase follows; training unfreezes it later.
        fine_tune = params.get("backbone_fine_tune_epochs", 0) > 0
        backbones.apply_freeze(backbone, "all" if fine_tune else params.get("backbone_freeze", "all"))
        # Pretrained batch-norm statistics stay as they are (inference mode), even when fine-tuning.
        x = backbone(x, training=False) if backbones.pretrained(params) else backbone(x)
        x = layers.GlobalAveragePooling2D(name="global_average")(x)
        outputs = _head(x, params["backbone_dropout"], params["backbone_dense_units"], num_classes)
        return keras.Model(inputs, outputs, name=f"cnnsearch_{architecture}")
    raise ValueError(f"unknown architecture {architecture!r}")


def _plain(
    inputs: Any, x: Any, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> keras.Model:
    """The plain CNN: conv blocks (conv-BN-ReLU, pooling, dropout), then the head."""
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
                x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
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


def _head(x: Any, dropout: float, dense_units: int, num_classes: int) -> Any:
    """Pooled features -> (dropout, dense, dropout) -> softmax, for the residual and backbone trunks."""
    if dropout > 0:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    if dense_units > 0:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name="dense_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)


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
