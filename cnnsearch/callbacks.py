"""Keras callbacks for one trial: pruning, per-epoch reporting, Ctrl-C. Fresh instances per trial."""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import keras

from cnnsearch import interrupt
from cnnsearch.errors import TrialFailed

#: Receives (epoch, metrics) once per epoch: tracking and the console listen here.
EpochListener = Callable[[int, dict[str, float]], None]


class PruningCallback(keras.callbacks.Callback):
    """Reports the monitored metric to Optuna every epoch and stops training when told to prune.

    Training stops cleanly (``stop_training``) instead of raising inside ``fit``, so the
    epoch's logs are flushed; the objective raises ``TrialPruned`` afterwards.
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.pruned_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise TrialFailed(
                f"study.metric '{self.monitor}' is not a Keras history key; "
                f"this model logs: {', '.join(sorted(logs))}"
            )
        value = float(logs[self.monitor])
        if not math.isfinite(value):
            return  # TerminateOnNaN ends the trial; a NaN report would confuse the pruner.
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch
            self.model.stop_training = True


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
        metrics["learning_rate"] = _learning_rate(self.model)
        metrics["epoch_time_s"] = seconds
        metrics["images_per_s"] = self.train_samples / seconds if seconds > 0 else 0.0
        for listener in self.listeners:
            listener(epoch, metrics)


def _learning_rate(model: keras.Model) -> float:
    rate = model.optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))


class SafePoint(keras.callbacks.Callback):
    """Stops ``fit`` with KeyboardInterrupt before the next batch after a deferred signal.

    Batch *begin* hooks, not end: a batch-end hook makes Keras wait for every step's
    logs and turns off its asynchronous callback dispatch, which costs GPU throughput.
    """

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        interrupt.check()

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        interrupt.check()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        interrupt.check()
