"""Keras callbacks that tie a fit to its Optuna trial: pruning, and Ctrl-C at a safe point.

Fresh instances per trial.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras

from cnnsearch.errors import TrialFailed
from cnnsearch.search import _interrupt as interrupt


class PruningCallback(keras.callbacks.Callback):
    """Reports the monitored metric to Optuna every epoch and stops training when told to prune.

    Training stops cleanly (``stop_training``) instead of raising inside ``fit``, so the
    epoch's logs are flushed; the objective raises ``TrialPruned`` afterwards.
    """

    def __init__(self, trial: Any, monitor: str, deadline: float | None = None, prunable: bool = True) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        #: False for the planned start-up trials (initial params and their neighbours): they report
        #: every epoch, so the pruner can judge later trials by them, but run their whole schedule.
        self.prunable = prunable
        #: ``study.final_share``: past this ``time.monotonic()`` instant, the trial is pruned at its
        #: next epoch end (unless that was its last), so the final training keeps its share.
        self.deadline = deadline
        self.pruned_epoch: int | None = None
        self.deadline_hit = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise TrialFailed(
                f"study.metric '{self.monitor}' is not a Keras history key; this model logs: {', '.join(sorted(logs))}"
            )
        value = float(logs[self.monitor])
        if not math.isfinite(value):
            return  # TerminateOnNaN ends the trial; a NaN report would confuse the pruner.
        self.trial.report(value, step=epoch)
        if self.prunable and self.trial.should_prune():
            self.pruned_epoch = epoch
            self.model.stop_training = True
        elif (
            self.deadline is not None and time.monotonic() >= self.deadline and epoch + 1 < self.params.get("epochs", 0)
        ):
            self.pruned_epoch, self.deadline_hit = epoch, True
            self.model.stop_training = True


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


class StopAtDeadline(keras.callbacks.Callback):
    """Ends the fit at the epoch end nearest ``deadline`` (a ``time.monotonic()`` instant).

    It stops when the next epoch, at the last epoch's measured length, would end more than
    half an epoch past the deadline: the study ends within half an epoch of its timeout, on
    either side, whatever the hardware.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        self._began = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._began = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if now + 0.5 * (now - self._began) >= self.deadline:
            self.model.stop_training = True
