"""Keras Applications backbones under a new head: input adaptation, weights, freezing.

Each backbone gets what it was trained on, inside the model, so the exported model
still takes raw uint8 images of the dataset's size:

- grayscale images become 3 channels (the backbone's first convolution wants RGB);
- images are resized to ``backbone_image_size`` (0: their own size, at least 32, the
  smallest input Keras Applications accept);
- pixels are scaled as that application's ``preprocess_input`` does: MobileNetV2 takes
  [-1, 1]; ResNet50 takes BGR with the ImageNet channel means subtracted ("caffe"
  mode, done here by a fixed 1x1 convolution); EfficientNetB0 takes raw 0-255 (it
  rescales and normalizes inside itself).

Only built-in Keras layers are used, so ``.keras``, SavedModel, ONNX and LiteRT
exports need no custom objects. The backbone is a nested model named ``backbone``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from cnnsearch.errors import CnnsearchError, first_line

#: The nested backbone model's name (freezing and fine-tuning find it by this name).
BACKBONE = "backbone"
#: The smallest square input every supported application accepts.
MIN_SIZE = 32
#: ResNet50's "caffe" preprocessing: ImageNet means of the B, G, R channels.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: Where Keras downloads weights from (checked before a download, so offline fails fast).
WEIGHTS_HOST = ("storage.googleapis.com", 443)
CONNECT_TIMEOUT_S = 3.0


class WeightsError(CnnsearchError):
    """Backbone weights cannot be had (no file, no cached download, no network)."""


def input_size(params: dict[str, Any], input_shape: tuple[int, int, int]) -> int:
    """The square size the backbone sees: the spec's, or the images' own raised to 32."""
    size = int(params.get("backbone_image_size", 0))
    return size if size > 0 else max(MIN_SIZE, input_shape[0], input_shape[1])


def adapt_inputs(x: Any, architecture: str, input_shape: tuple[int, int, int], size: int) -> Any:
    """Raw 0-255 pixels -> what the application expects: scaled, RGB, resized."""
    if architecture == "mobilenet_v2":
        x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)  # [0, 255] -> [-1, 1]
    else:
        x = layers.Rescaling(1.0, name="rescale")(x)  # a cast to float: these take 0-255
    if input_shape[2] == 1:
        x = layers.Concatenate(name="to_rgb")([x, x, x])
    if (input_shape[0], input_shape[1]) != (size, size):
        x = layers.Resizing(size, size, name="resize")(x)
    if architecture == "resnet50":
        caffe = layers.Conv2D(3, 1, name="caffe_bgr", trainable=False)
        x = caffe(x)
        caffe.set_weights(_caffe_weights())
    return x


def _caffe_weights() -> list[np.ndarray]:
    """A 1x1 convolution that swaps RGB to BGR and subtracts the ImageNet means."""
    kernel = np.zeros((1, 1, 3, 3), dtype="float32")
    for out_channel in range(3):
        kernel[0, 0, 2 - out_channel, out_channel] = 1.0
    return [kernel, -np.asarray(CAFFE_MEAN_BGR, dtype="float32")]


def create(architecture: str, params: dict[str, Any], size: int) -> keras.Model:
    """The application without its top, with the weights the params ask for, named ``backbone``."""
    weights = params.get("backbone_weights", "none")
    alpha = float(params.get("backbone_alpha", 1.0))
    if weights == "imagenet":
        ensure_imagenet(architecture, alpha, size)
    elif weights != "none" and not Path(weights).is_file():
        raise WeightsError(f"model.backbone.weights: '{weights}' does not exist")
    kwargs: dict[str, Any] = {
        "include_top": False,
        "weights": None if weights == "none" else weights,
        "input_shape": (size, size, 3),
    }
    if architecture == "mobilenet_v2":
        kwargs["alpha"] = alpha
    application = APPLICATIONS[architecture]
    try:
        model = application(**kwargs)
    except Exception as exc:  # noqa: BLE001 - downloads and h5 files fail in many ways
        text = first_line(exc) or type(exc).__name__
        raise WeightsError(
            f"model.backbone.weights: cannot load '{weights}' into {architecture}: {text[:300]}"
        ) from exc
    model.name = BACKBONE  # not the constructor's name: EfficientNet derives its weights file name from it
    return model


def _mobilenet_v2(**kwargs: Any) -> keras.Model:
    return keras.applications.MobileNetV2(**kwargs)


def _resnet50(**kwargs: Any) -> keras.Model:
    return keras.applications.ResNet50(**kwargs)


def _efficientnet_b0(**kwargs: Any) -> keras.Model:
    return keras.applications.EfficientNetB0(**kwargs)


APPLICATIONS = {"mobilenet_v2": _mobilenet_v2, "resnet50": _resnet50, "efficientnet_b0": _efficientnet_b0}


def pretrained(params: dict[str, Any]) -> bool:
    return params.get("backbone_weights", "none") != "none"


def apply_freeze(backbone: keras.Model, freeze: str | int) -> None:
    """``"all"``: nothing in the backbone trains; ``"none"``: everything; N: its top N layers."""
    if freeze == "all":
        backbone.trainable = False
        return
    backbone.trainable = True
    if freeze == "none":
        return
    count = len(backbone.layers)
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= count - int(freeze)


# --- ImageNet weights: cached, or downloadable right now -----------------------------------


def imagenet_file(architecture: str, alpha: float, size: int) -> str:
    """The no-top weights file Keras downloads for this application (as keras.applications names it)."""
    if architecture == "mobilenet_v2":
        rows = size if size in (96, 128, 160, 192, 224) else 224
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
    if architecture == "resnet50":
        return "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if architecture == "efficientnet_b0":
        return "efficientnetb0_notop.h5"
    raise ValueError(f"not a backbone: {architecture!r}")


def keras_cache() -> Path:
    """Keras's download cache for model weights ($KERAS_HOME/models, else ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home) / "models"


def ensure_imagenet(architecture: str, alpha: float, size: int) -> None:
    """Fail in seconds, with one line, when the ImageNet weights are neither cached nor downloadable."""
    cached = keras_cache() / imagenet_file(architecture, alpha, size)
    if cached.is_file():
        return
    try:
        with socket.create_connection(WEIGHTS_HOST, timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise WeightsError(
            f"model.backbone.weights: 'imagenet' weights for {architecture} are not in the Keras cache "
            f"({cached}) and {WEIGHTS_HOST[0]} cannot be reached ({type(exc).__name__}); "
            "download them on a connected machine, or set weights to a .weights.h5 file or 'none'"
        ) from None


def check_backbone_weights(spec: Any) -> None:
    """Before any training: ImageNet weights for every backbone (and size, alpha) the spec may choose."""
    from cnnsearch.spec import BACKBONES, tunable_values

    model = spec.model
    if getattr(model, "hypermodel", None) is not None or model.backbone.weights != "imagenet":
        return
    for architecture in tunable_values(model.architecture):
        if architecture not in BACKBONES:
            continue
        alphas = tunable_values(model.backbone.alpha) if architecture == "mobilenet_v2" else [1.0]
        for alpha in alphas:
            for size in tunable_values(model.backbone.image_size):
                ensure_imagenet(architecture, alpha, int(size) or 224)
