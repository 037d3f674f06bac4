"""[performance]: "auto" per device kind, and settings reaching Keras (compiled, never trained)."""

from __future__ import annotations

import keras
import pytest

from cnnsearch import models as model_lib
from cnnsearch.spec import PerformanceSpec
from cnnsearch.training import AUTO, Settings, compile_model
from cnnsearch.training import _performance as performance

PARAMS = {
    "architecture": "plain",
    "blocks": 1,
    "filters": 4,
    "filter_growth": 2.0,
    "convs_per_block": 1,
    "kernel_size": 3,
    "batch_norm": True,
    "dropout": 0.0,
    "dense_units": 0,
    "head": "global_average",
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "batch_size": 16,
    "epochs": 1,
}


def test_auto_takes_the_device_kinds_default_and_explicit_values_win() -> None:
    for kind in ("cpu", "gpu"):
        assert performance.resolve(PerformanceSpec(), kind) == AUTO[kind]
    chosen = performance.resolve(PerformanceSpec(mixed_precision=True, jit_compile=False, steps_per_execution=7), "gpu")
    assert chosen == Settings(mixed_precision=True, jit_compile=False, steps_per_execution=7)
    # Keras's PyTorch backend runs one step per execution only.
    assert performance.resolve(PerformanceSpec(), "cpu", backend="torch").steps_per_execution == 1
    # No kind given: the kind of device this machine trains on.
    assert performance.resolve(PerformanceSpec()) == AUTO[performance.device_kind()]


def test_device_kind_agrees_with_what_tensorflow_sees() -> None:
    """CPU-only machines and GPU machines alike: "gpu" exactly when TensorFlow lists a GPU."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"compares with TensorFlow's device list; Keras runs on {keras.backend.backend()}")
    import tensorflow as tf

    kind = performance.device_kind()
    assert kind in ("cpu", "gpu")
    assert kind == ("gpu" if tf.config.list_physical_devices("GPU") else "cpu")


@pytest.mark.parametrize("jit", [True, False])
def test_settings_reach_compile(jit: bool) -> None:
    from keras.src.trainers.trainer import model_supports_jit

    net = model_lib.build(PARAMS, (8, 8, 1), 3)
    compile_model(net, PARAMS, performance=Settings(jit_compile=jit, steps_per_execution=5))
    # Keras itself turns XLA off where it cannot apply (e.g. once TF op determinism is on).
    assert net.jit_compile is (jit and model_supports_jit(net))
    assert net.steps_per_execution == 5
    plain = model_lib.build(PARAMS, (8, 8, 1), 3)
    compile_model(plain, PARAMS)  # no settings: Keras's own defaults
    assert plain.steps_per_execution == 1


def test_mixed_precision_policy_keeps_the_output_float32() -> None:
    try:
        performance.apply_precision(Settings(mixed_precision=True))
        net = model_lib.build(PARAMS, (8, 8, 1), 3)
        half = "float16" if performance.device_kind() == "gpu" else "bfloat16"  # CPU: bfloat16, GPU: float16
        assert net.get_layer("block1_conv1").compute_dtype == half
        assert net.get_layer("predictions").compute_dtype == "float32"
        assert net.output.dtype == "float32"
    finally:
        performance.apply_precision(Settings(mixed_precision=False))
    assert keras.mixed_precision.global_policy().name == "float32"
