"""Which device trains, said at once: on the run's first line and on every trial's MLflow run.

Why: a TensorFlow that cannot see the GPU (a CUDA mismatch, a CPU-only wheel) trains on the
CPU without an error, only slower; a user finds out from the first line instead of from the
clock. A fallback is a GPU that ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi`` lists while the
Keras backend computes on the CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from cnnsearch.training import device_kind, device_name


def visible_gpus() -> list[str]:
    """GPU ids to spread workers over: ``CUDA_VISIBLE_DEVICES`` if set, else what nvidia-smi lists."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Device:
    """What this process trains on, and why not on a GPU the machine has (None: no fallback)."""

    name: str
    fallback: str | None = None

    def line(self) -> str:
        return f"device: {self.name}" + (f" [FALLBACK: {self.fallback}]" if self.fallback else "")

    def as_params(self) -> dict[str, str]:
        return {"device": self.name[:480], **({"device_fallback": self.fallback[:480]} if self.fallback else {})}


def this_device(listed: list[str] | None = None) -> Device:
    """The device the Keras backend computes on here; ``listed``: the GPUs the machine shows."""
    import keras

    name = device_name()
    if device_kind() == "gpu":
        return Device(name)
    gpus = visible_gpus() if listed is None else listed
    if not gpus:
        return Device(name)
    why = (
        f"{len(gpus)} GPU(s) listed (CUDA_VISIBLE_DEVICES / nvidia-smi: {', '.join(gpus)}) but the Keras "
        f"{keras.backend.backend()} backend sees none, so training runs on the CPU"
    )
    return Device(name, why)
