"""Learning-rate schedules: constant, cosine, warmup + cosine, one-cycle, step by step."""

from __future__ import annotations

import keras
import pytest

from cnnsearch.training import ONE_CYCLE_START
from cnnsearch.training import scheduled_learning_rate as learning_rate


def test_schedules_follow_their_shapes() -> None:
    steps, epochs, rate = 10, 5, 0.1
    assert learning_rate({"lr_schedule": "constant"}, rate, steps, epochs) == rate

    def at(schedule: keras.optimizers.schedules.LearningRateSchedule, step: int) -> float:
        return float(keras.ops.convert_to_numpy(schedule(step)))

    cosine = learning_rate({"lr_schedule": "cosine"}, rate, steps, epochs)
    assert at(cosine, 0) == pytest.approx(rate) and at(cosine, 25) == pytest.approx(rate / 2, rel=1e-3)
    assert at(cosine, 50) == pytest.approx(0.0, abs=1e-6)
    warm = learning_rate({"lr_schedule": "warmup_cosine", "warmup_epochs": 2}, rate, steps, epochs)
    assert at(warm, 0) == pytest.approx(0.0, abs=1e-7) and at(warm, 10) == pytest.approx(rate / 2, rel=1e-3)
    assert at(warm, 20) == pytest.approx(rate, rel=1e-4) and at(warm, 50) < rate / 100
    cycle = learning_rate({"lr_schedule": "one_cycle"}, rate, steps, epochs)
    assert at(cycle, 0) == pytest.approx(rate * ONE_CYCLE_START, rel=1e-4)
    assert at(cycle, 15) == pytest.approx(rate, rel=1e-4)  # the peak, 30% in
    assert at(cycle, 50) < rate / 1e4
