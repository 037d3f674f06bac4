"""Per-epoch reporting: one Keras callback hands each epoch's figures to listeners.

Tracking (MLflow), the live console and the export's progress lines all listen
here, so an epoch is measured once. Fresh instances per trial.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras

#: Receives (epoch, metrics) once per epoch: tracking and the console listen here.
EpochListener = Callable[[int, dict[str, float]], None]


class EpochReporter(keras.callbacks.Callback):
    """Hands each epoch's metrics, learning rate and timing to listeners in one call."""

    def __init__(self, listeners: list[EpochListener], train_samples: int) -> None:
        super().__init__()
        self.listeners = listeners
        self.train_samples = train_samples
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - self._started
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        metrics["learning_rate"] = learning_rate(self.model)
        metrics["epoch_time_s"] = seconds
        metrics["images_per_s"] = self.train_samples / seconds if seconds > 0 else 0.0
        for listener in self.listeners:
            listener(epoch, metrics)


def learning_rate(model: keras.Model) -> float:
    """The optimizer's current learning rate (a schedule's value at this step)."""
    rate = model.optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))
