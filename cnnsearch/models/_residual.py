"""ResNet-style trunk: stages of basic residual blocks (two 3x3 convolutions and a skip connection).

Each stage after the first doubles the width and halves the image (while it has room),
as in ResNet for CIFAR. Layer names are fixed by position, so the inference twin
copies the trained weights by name.
"""

from __future__ import annotations

from typing import Any

from keras import layers

#: Batch norm's moving-average momentum. Keras's 0.99 needs ~500 steps before its inference
#: statistics catch up; a short trial on a small dataset (35 steps per epoch on 2,250 images)
#: then validates at chance while training fine. 0.9 (PyTorch's default) tracks within ~50 steps.
BN_MOMENTUM = 0.9


def residual_trunk(x: Any, params: dict[str, Any], height: int, width: int) -> Any:
    """Stem convolution, then ``residual_stages`` stages of ``residual_blocks_per_stage`` blocks.

    ``residual_stem_stride`` 2 halves the image in the stem: every stage then costs a quarter,
    which on a CPU buys 3.1-3.6x the epochs in the same time (docs/benchmarks.md).
    """
    filters = params["residual_width"]
    stem_stride = int(params.get("residual_stem_stride", 1))  # older trials have no such param
    x = layers.Conv2D(filters, 3, strides=stem_stride, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    size = -(-min(height, width) // stem_stride)
    for stage in range(params["residual_stages"]):
        stage_filters = filters * 2**stage
        for block in range(params["residual_blocks_per_stage"]):
            # Downsample at the start of every stage but the first, while the image has room.
            stride = 2 if stage > 0 and block == 0 and size >= 2 else 1
            if stride == 2:
                size = (size + 1) // 2
            x = _block(x, stage_filters, stride, f"stage{stage + 1}_block{block + 1}")
    return x


def _block(x: Any, filters: int, stride: int, name: str) -> Any:
    """conv-BN-ReLU-conv-BN plus the shortcut (a 1x1 projection when the shape changes), then ReLU."""
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn1")(y)
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_project")(x)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_project_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)
