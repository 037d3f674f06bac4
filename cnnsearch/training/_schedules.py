"""Learning-rate schedules from a trial's params: constant, cosine, warmup + cosine, one-cycle.

All are Keras's own ``CosineDecay`` (with or without its linear warmup), so they are
backend-neutral and serialize with the optimizer. A schedule counts optimizer steps,
so it needs the steps per epoch and the epochs it spans. A schedule replaces
ReduceLROnPlateau (Keras cannot lower the rate of a schedule; see _fit.py).
"""

from __future__ import annotations

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
