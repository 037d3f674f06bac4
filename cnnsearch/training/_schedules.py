"""Learning-rate schedules from a trial's params: constant, cosine, warmup + cosine, one-cycle.

All are Keras's own ``CosineDecay`` (with or without its linear warmup), so they are
backend-neutral and serialize with the optimizer. A schedule counts optimizer steps,
so it needs the steps per epoch and the epochs it spans. A schedule replaces
ReduceLROnPlateau (Keras cannot lower the rate of a schedule; see _fit.py).

The final training of ``study.final_share`` runs until a deadline instead of for an epoch
count, so its schedule follows the clock (:class:`ClockSchedule`, :func:`clock_rate`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras

#: One-cycle: the warmup's share of the steps, and the start and end rates as fractions of the peak.
ONE_CYCLE_WARMUP = 0.3
ONE_CYCLE_START = 1 / 25
ONE_CYCLE_END = 1 / 25 / 1e4


def scheduled_learning_rate(
    params: dict[str, Any], rate: float, steps_per_epoch: int, epochs: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The rate, or the schedule the params name, peaking at ``rate`` over ``epochs`` epochs."""
    kind = params.get("lr_schedule", "constant")
    total = max(1, steps_per_epoch * epochs)
    if kind == "constant":
        return rate
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total, alpha=0.0)
    if kind == "warmup_cosine":
        warmup = min(total - 1, steps_per_epoch * int(params.get("warmup_epochs", 1)))
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, total - warmup), alpha=0.0, warmup_target=rate, warmup_steps=warmup
        )
    if kind == "one_cycle":
        warmup = int(round(total * ONE_CYCLE_WARMUP))
        return keras.optimizers.schedules.CosineDecay(
            rate * ONE_CYCLE_START,
            decay_steps=max(1, total - warmup),
            alpha=ONE_CYCLE_END,
            warmup_target=rate,
            warmup_steps=warmup,
        )
    raise ValueError(f"unknown lr_schedule {kind!r}")


def clock_rate(kind: str, peak: float, progress: float, warmup_share: float = 0.0) -> float:
    """The rate ``kind`` gives at ``progress`` (0..1) of a schedule measured in time, not steps.

    A constant rate becomes a cosine too: a final training that runs until a deadline
    gains most in its last, low-rate stretch (docs/benchmarks.md, the final training).
    """
    p = min(1.0, max(0.0, progress))
    if kind == "one_cycle":
        warm, start, end = ONE_CYCLE_WARMUP, peak * ONE_CYCLE_START, peak * ONE_CYCLE_START * ONE_CYCLE_END
    elif kind == "warmup_cosine":
        warm, start, end = min(0.5, max(0.0, warmup_share)), 0.0, 0.0
    else:
        warm, start, end = 0.0, peak, 0.0
    if p < warm:
        return start + (peak - start) * p / warm
    q = (p - warm) / (1.0 - warm) if warm < 1.0 else 1.0
    return end + (peak - end) * 0.5 * (1.0 + math.cos(math.pi * q))


class ClockSchedule(keras.callbacks.Callback):
    """Sets the learning rate before each batch from the time elapsed between the fit's start and ``end``.

    ``end`` is a ``time.monotonic()`` instant (the study's deadline, or a fold's share of the time
    left): the schedule reaches its low end there however fast the hardware is. The model must be
    compiled with a constant rate (a variable); ``kind`` is the params' ``lr_schedule``.
    """

    def __init__(self, kind: str, peak: float, end: float, warmup_share: float = 0.0) -> None:
        super().__init__()
        self.kind, self.peak, self.end, self.warmup_share = kind, peak, end, warmup_share
        self.start = time.monotonic()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.start = time.monotonic()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        span = self.end - self.start
        progress = (time.monotonic() - self.start) / span if span > 0 else 1.0
        self.model.optimizer.learning_rate = clock_rate(self.kind, self.peak, progress, self.warmup_share)
