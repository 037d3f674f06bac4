"""What a network costs before it trains: weights, FLOPs (counted by hand here), file size, latency."""

from __future__ import annotations

import keras
import pytest

from cnnsearch.training import count_flops, device_name, keras_file_mb, latency_ms, measure_costs


def _network() -> keras.Model:
    """uint8 8x8x1 -> conv 3x3x4 -> pool -> depthwise 3x3 -> separable 3x3x6 -> global pool -> dense 10."""
    from keras import layers

    inputs = keras.Input((8, 8, 1), dtype="uint8")
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(4, 3, padding="same")(x)  # 8x8 positions x 4 outputs x 9 multiply-adds
    x = layers.MaxPooling2D()(x)
    x = layers.DepthwiseConv2D(3, padding="same")(x)  # 4x4 x 4 channels x 9
    x = layers.SeparableConv2D(6, 3, padding="same")(x)  # 4x4 x (4 x 9 + 4 x 6)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = keras.Sequential([layers.Dense(10)])(x)  # nested: 6 x 10
    return keras.Model(inputs, outputs)


def test_flops_are_twice_the_multiply_adds_of_every_kernel() -> None:
    expected = 2 * (8 * 8 * 4 * 9 + 4 * 4 * 4 * 9 + 4 * 4 * (4 * 9 + 4 * 6) + 6 * 10)
    assert count_flops(_network()) == expected


def test_measure_costs_gives_what_is_asked_in_order() -> None:
    model = _network()
    costs = measure_costs(model, ["latency_ms", "params", "size_mb"])
    assert list(costs) == ["latency_ms", "params", "size_mb"]
    assert costs["params"] == model.count_params()
    assert 0 < costs["size_mb"] == pytest.approx(keras_file_mb(model), rel=0.05)
    assert 0 < costs["latency_ms"] < 1000
    assert 0 < latency_ms(model) < 1000  # uint8 input: random pixels of the input's dtype
    with pytest.raises(ValueError, match="unknown cost 'speed'"):
        measure_costs(model, ["speed"])


def test_the_device_is_named() -> None:
    name = device_name()
    assert name.startswith(("CPU: ", "GPU: ", "TPU: ")) and "cores" in name
