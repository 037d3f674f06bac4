"""What a network costs, measured before it trains: weights, FLOPs, file size, latency.

Each is a property of the architecture, not of the trained weights, so the search can
measure it as soon as a trial's network is built and stop a network over a hard limit
before any epoch. The export measures the same on the model it ships, for the card.

- ``params``: weights (``count_params``), trainable or not.
- ``flops``: floating-point operations for one image: 2 per multiply-add of every layer
  with a kernel (convolutions, depthwise and separable ones, dense), in nested models too.
  Biases, activations, batch norm and pooling are left out (they are a few percent of a CNN).
- ``size_mb``: the model's ``.keras`` file, in MB (1e6 bytes).
- ``latency_ms``: the median wall time of ``model.predict_on_batch`` on one random image
  on this machine, after a warm-up (the first calls trace and compile), timed in
  ``ROUNDS`` rounds and the lowest round median kept: a burst of other work on the machine
  during one round (another process, a background thread) does not count. Keras's own
  per-call overhead is included: it is what a Python caller waits for.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

#: Latency: calls before timing (tracing, compiling, caches), then ROUNDS rounds of at least
#: MIN_REPEATS timed calls each ...
WARMUP_CALLS = 5
ROUNDS = 3
MIN_REPEATS = 11
#: ... and more until the round spent this long timing, at most MAX_REPEATS calls a round.
MIN_TIMING_S = 0.1
MAX_REPEATS = 200
#: Weights that multiply: a layer's kernel, or a separable convolution's two.
_KERNELS = ("kernel", "depthwise_kernel", "pointwise_kernel")


def measure_costs(model: keras.Model, which: Sequence[str]) -> dict[str, float]:
    """The costs named in ``which`` (``params``, ``flops``, ``size_mb``, ``latency_ms``), in that order."""
    measures = {"params": lambda: float(model.count_params()), "flops": lambda: float(count_flops(model))}
    measures.update(size_mb=lambda: keras_file_mb(model), latency_ms=lambda: latency_ms(model))
    unknown = [name for name in which if name not in measures]
    if unknown:
        raise ValueError(f"unknown cost {unknown[0]!r}")
    return {name: measures[name]() for name in which}


def count_flops(model: keras.Model) -> int:
    """Floating-point operations for one image: 2 x the multiply-adds of the kernels (see the module)."""
    total = 0
    for layer in _leaf_layers(model):
        kernels = [w for w in layer.weights if w.name in _KERNELS]
        if not kernels:
            continue
        try:
            shape = layer.input.shape if "Transpose" in type(layer).__name__ else layer.output.shape
        except (AttributeError, ValueError):  # a layer called more than once, or never in a graph
            continue
        positions = math.prod(int(d) for d in shape[1:-1] if d is not None)  # channels last; 1 for Dense
        total += 2 * positions * sum(math.prod(int(d) for d in w.shape) for w in kernels)
    return total


def _leaf_layers(layer: Any) -> Iterator[Any]:
    """Every layer that computes, looking inside nested models and Sequentials."""
    if isinstance(layer, keras.Model):  # functional, Sequential and subclassed models alike
        for child in layer.layers:
            yield from _leaf_layers(child)
    else:
        yield layer


def keras_file_mb(model: keras.Model) -> float:
    """The size of the model saved as a ``.keras`` file, in MB (1e6 bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.stat().st_size / 1e6


def latency_ms(model: keras.Model, seed: int = 0) -> float:
    """Batch-1 ``predict_on_batch`` time in ms on a random image of the model's input, after warm-up:
    the lowest of ``ROUNDS`` round medians."""
    shape = (1, *(int(d) for d in model.inputs[0].shape[1:]))
    dtype = str(model.inputs[0].dtype)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, shape).astype(dtype) if "int" in dtype else rng.uniform(0, 255, shape).astype(dtype)
    for _ in range(WARMUP_CALLS):
        model.predict_on_batch(image)
    medians = []
    for _ in range(ROUNDS):
        times: list[float] = []
        started = time.perf_counter()
        while len(times) < MAX_REPEATS and (len(times) < MIN_REPEATS or time.perf_counter() - started < MIN_TIMING_S):
            begin = time.perf_counter()
            model.predict_on_batch(image)
            times.append(time.perf_counter() - begin)
        medians.append(statistics.median(times))
    return min(medians) * 1000.0


def device_name() -> str:
    """Where a latency was measured: the accelerator Keras runs on, else the CPU model, and the cores."""
    accelerator = _accelerator()
    cpu = _cpu_model()
    cores = os.cpu_count()
    where = f"{cpu}, {cores} cores" if cores else cpu
    return f"{accelerator} (host CPU: {where})" if accelerator else f"CPU: {where}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _accelerator() -> str | None:
    """The GPU's name when the Keras backend computes on one (None on CPU)."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU: {details.get('device_name', gpus[0].name)}"
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            return None if device.platform == "cpu" else f"{device.platform.upper()}: {device.device_kind}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
    except Exception:  # noqa: BLE001 - a device name is a label; never fail a measurement for it
        return None
    return None
