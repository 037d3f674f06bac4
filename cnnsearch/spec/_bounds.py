"""How big the largest network a spec's space can draw is, estimated from the spec alone (no Keras).

Each field has its own bounds, but together they can still ask for terabytes: 4096 filters
growing 4x over 12 blocks. The search would find out trial by trial, failing each; this
refuses such a space up front. The estimate follows the layers ``cnnsearch/models`` builds
(plain CNN and residual network); Keras Applications backbones have fixed sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnsearch.spec._types import IntRange, tunable_values

if TYPE_CHECKING:
    from cnnsearch.spec._schema import Spec

#: More weights than this (8 GB in float32, three times that with Adam's moments) is refused.
MAX_WEIGHTS = 2_000_000_000
#: Activations of one training batch (float32, kept for the backward pass) over this are refused.
MAX_ACTIVATION_BYTES = 64 * 2**30
#: (height, width, channels) of the built-in datasets as loaded; folders and .npz files are known only
#: when they load, so without ``data.image_size`` only their size-independent weights are estimated.
SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
#: The built-in datasets have 10 classes; a rough figure for the others (the last layer is small).
CLASSES = 10


def network_problem(spec: Spec) -> str | None:
    """'field: what is wrong' when the largest network of the space is too big to train, else None."""
    if spec.model.hypermodel is not None:
        return None  # the hypermodel builds what it builds
    shape = _input_shape(spec)
    batch = max(tunable_values(spec.train.batch_size))
    architectures = tunable_values(spec.model.architecture)
    estimates = []
    if "plain" in architectures:
        estimates.append(("model", _plain(spec, shape), "fewer blocks or filters, or a smaller filter_growth"))
    if "residual" in architectures:
        estimates.append(
            ("model.residual", _residual(spec, shape), "fewer stages or blocks_per_stage, or a smaller width")
        )
    for field, (weights, activations), advice in estimates:
        if weights > MAX_WEIGHTS:
            return (
                f"{field}: the largest network this space can draw has about {weights:.1e} weights; "
                f"at most {MAX_WEIGHTS:.0e} are allowed ({advice})"
            )
        if shape is not None and activations * batch * 4 > MAX_ACTIVATION_BYTES:
            height, width, channels = shape
            gib = activations * batch * 4 / 2**30
            return (
                f"{field}: the largest network this space can draw needs about {gib:.3g} GiB of activations "
                f"for one batch of {batch} {height}x{width}x{channels} images; at most "
                f"{MAX_ACTIVATION_BYTES // 2**30} GiB are allowed (a smaller train.batch_size or data.image_size, or {advice})"
            )
    return None


def _input_shape(spec: Spec) -> tuple[int, int, int] | None:
    data = spec.data
    known = SHAPES.get(data.dataset)
    if data.image_size is not None:
        channels = data.channels or (known[2] if known else 3)
        return data.image_size[0], data.image_size[1], channels
    if known is None:
        return None
    return known[0], known[1], data.channels or known[2]


def _largest(value: Any) -> Any:
    return max(tunable_values(value))


def _smallest(value: Any) -> Any:
    return min(tunable_values(value))


def _each(value: Any) -> list[int]:
    """Every integer a tunable can take (an int range's every step)."""
    if isinstance(value, IntRange):
        return list(range(value.low, value.high + 1, value.step))
    return [int(v) for v in tunable_values(value)]


def _plain(spec: Spec, shape: tuple[int, int, int] | None) -> tuple[int, int]:
    """(weights, activation floats per image) of the plain CNN's largest draw.

    Every block count is tried: with a flatten head, fewer blocks (less pooling) can be bigger.
    """
    m = spec.model
    first, growth, convs = _largest(m.filters), _largest(m.filter_growth), _largest(m.convs_per_block)
    kernel, dense = _largest(m.kernel_size), _largest(m.dense_units)
    norm = True in tunable_values(m.batch_norm)
    flatten = "flatten" in tunable_values(m.head) and shape is not None
    best = (0, 0)
    for blocks in _each(m.blocks):
        height, width, channels = shape or (1, 1, 3)
        weights = activations = 0
        for block in range(blocks):
            filters = max(1, int(round(first * growth**block)))
            for _ in range(convs):
                weights += kernel * kernel * channels * filters + (4 if norm else 1) * filters
                activations += height * width * filters * (3 if norm else 2)  # conv, batch norm, ReLU
                channels = filters
            if min(height, width) >= 2:
                height, width = height // 2, width // 2
                activations += height * width * filters
        features = height * width * channels if flatten else channels
        weights += _head(features, dense)
        best = (max(best[0], weights), max(best[1], activations))
    return best


def _residual(spec: Spec, shape: tuple[int, int, int] | None) -> tuple[int, int]:
    """(weights, activation floats per image) of the residual network's largest draw."""
    r = spec.model.residual
    width0, stages, blocks = _largest(r.width), _largest(r.stages), _largest(r.blocks_per_stage)
    height, width, channels = shape or (1, 1, 3)
    stride = _smallest(r.stem_stride)  # the largest activations: the stem that halves least
    height, width = -(-height // stride), -(-width // stride)
    weights = 9 * channels * width0 + 4 * width0
    activations = 3 * height * width * width0
    channels = width0
    for stage in range(stages):
        filters = width0 * 2**stage
        for block in range(blocks):
            stride = stage > 0 and block == 0 and min(height, width) >= 2
            if stride:
                height, width = (height + 1) // 2, (width + 1) // 2
            weights += 9 * channels * filters + 9 * filters * filters + 8 * filters
            tensors = 7  # conv, BN, ReLU, conv, BN, add, ReLU
            if stride or channels != filters:
                weights += channels * filters + 4 * filters
                tensors += 2
            activations += height * width * filters * tensors
            channels = filters
    return weights + _head(channels, _largest(r.dense_units)), activations


def _head(features: int, dense: int) -> int:
    """Weights of the optional dense layer and the softmax layer."""
    if dense > 0:
        return features * dense + dense + dense * CLASSES + CLASSES
    return features * CLASSES + CLASSES
