"""How fast a trial trains: precision, XLA and steps per execution, chosen per device kind.

``[performance]`` in a spec overrides each setting; ``"auto"`` (the default) takes
the value in ``AUTO`` for the device Keras trains on (CPU or GPU). ``AUTO`` holds
only what measured faster on that kind of device (``benchmarks/throughput.py``,
figures in ``docs/benchmarks.md``); anything not measured faster stays at Keras's
own default. Backend-neutral: Keras dtype policies and ``compile`` arguments only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from cnnsearch.spec import PerformanceSpec

DeviceKind = Literal["cpu", "gpu"]


@dataclass(frozen=True)
class Settings:
    """Resolved speed settings for one device kind.

    ``jit_compile = None`` leaves Keras's own choice ("auto": XLA off for TensorFlow on
    CPU, on for JAX and for TensorFlow on GPU, off for PyTorch).
    """

    mixed_precision: bool = False
    jit_compile: bool | None = None
    steps_per_execution: int = 1

    def compile_kwargs(self) -> dict[str, Any]:
        """The ``model.compile`` keyword arguments these settings set."""
        return {
            "jit_compile": "auto" if self.jit_compile is None else self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }

    def as_params(self) -> dict[str, str]:
        """For the MLflow run: what the trial actually trained with."""
        return {f"performance.{key}": str(value) for key, value in asdict(self).items()}


#: Defaults per device kind, each from measurements on that kind (docs/benchmarks.md, 2026-11-24).
#: CPU (2 cores, TensorFlow 2.21, CIFAR-10 subset): steps_per_execution=8 trained 1.11x and 1.24x
#: as fast as 1; XLA (0.04x), mixed bfloat16 (0.84x) and float16 (0.16x) were slower, so they stay
#: off. GPU: not measured yet, so Keras's own defaults (benchmarks/throughput.py is ready to run).
AUTO: dict[DeviceKind, Settings] = {
    "cpu": Settings(mixed_precision=False, jit_compile=None, steps_per_execution=8),
    "gpu": Settings(mixed_precision=False, jit_compile=None, steps_per_execution=1),
}


def device_kind() -> DeviceKind:
    """``"gpu"`` when the Keras backend trains on an accelerator, else ``"cpu"``."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
        if backend == "jax":
            import jax

            return "cpu" if jax.default_backend() == "cpu" else "gpu"
        if backend == "torch":
            import torch

            mps = getattr(torch.backends, "mps", None)
            return "gpu" if torch.cuda.is_available() or (mps is not None and mps.is_available()) else "cpu"
    except Exception:  # noqa: BLE001 - a broken driver means training runs on the CPU
        return "cpu"
    return "cpu"


def resolve(spec: PerformanceSpec, kind: DeviceKind | None = None, backend: str | None = None) -> Settings:
    """The spec's settings, with each ``"auto"`` replaced by the device kind's default.

    Keras's PyTorch backend accepts only ``steps_per_execution = 1``: "auto" gives 1 there.
    """
    if backend is None:
        import keras

        backend = keras.backend.backend()
    default = AUTO[kind or device_kind()]
    steps = default.steps_per_execution if backend != "torch" else 1
    return Settings(
        mixed_precision=default.mixed_precision if spec.mixed_precision == "auto" else spec.mixed_precision,
        jit_compile=default.jit_compile if spec.jit_compile == "auto" else spec.jit_compile,
        steps_per_execution=steps if spec.steps_per_execution == "auto" else spec.steps_per_execution,
    )


def apply_precision(settings: Settings) -> None:
    """Set the global dtype policy before a model is built (layers read it when created).

    Mixed precision computes in float16 on GPUs and bfloat16 on CPUs (float16 matmuls have
    no fast CPU kernels); the model's last Dense layer stays float32 so the softmax and the
    loss are computed in float32, and Keras wraps the optimizer in loss scaling.
    """
    import keras

    if not settings.mixed_precision:
        keras.mixed_precision.set_global_policy("float32")
        return
    keras.mixed_precision.set_global_policy("mixed_float16" if device_kind() == "gpu" else "mixed_bfloat16")
