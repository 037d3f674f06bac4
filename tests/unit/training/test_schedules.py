"""Learning-rate schedules: constant, cosine, warmup + cosine, one-cycle, step by step."""

from __future__ import annotations

import keras
import pytest

from cnnsearch.training._schedules import ONE_CYCLE_START
from cnnsearch.training._schedules import scheduled_learning_rate as learning_rate


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


def test_the_clock_schedule_has_the_shapes_of_the_step_schedules_over_time() -> None:
    """The final training's rate as a share of the time left (issue 27): a constant rate decays too."""
    from cnnsearch.training._schedules import clock_rate

    for kind in ("constant", "cosine"):
        assert clock_rate(kind, 0.1, 0.0) == pytest.approx(0.1)
        assert clock_rate(kind, 0.1, 0.5) == pytest.approx(0.05)
        assert clock_rate(kind, 0.1, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert clock_rate("warmup_cosine", 0.1, 0.0, warmup_share=0.2) == pytest.approx(0.0)
    assert clock_rate("warmup_cosine", 0.1, 0.1, warmup_share=0.2) == pytest.approx(0.05)
    assert clock_rate("warmup_cosine", 0.1, 0.2, warmup_share=0.2) == pytest.approx(0.1)
    assert clock_rate("one_cycle", 0.1, 0.0) == pytest.approx(0.1 * ONE_CYCLE_START)
    assert clock_rate("one_cycle", 0.1, 0.3) == pytest.approx(0.1)
    assert clock_rate("one_cycle", 0.1, 1.0) < 0.1 / 1e4
    assert clock_rate("cosine", 0.1, 7.0) == clock_rate("cosine", 0.1, 1.0)  # past the deadline: the low end


def test_the_clock_schedule_sets_the_rate_from_the_time_left_in_a_real_fit() -> None:
    """Past its end the rate is 0 and the weights stay put; with hours left it stays near the peak."""
    import time

    import numpy as np

    from cnnsearch.training import ClockSchedule

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def trained(end: float) -> tuple[keras.Model, list[np.ndarray]]:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ClockSchedule("cosine", 0.1, end)])
        return model, before

    over, before = trained(time.monotonic() - 1.0)
    assert float(over.optimizer.learning_rate) == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(over.get_weights(), before, strict=True))
    ahead, _ = trained(time.monotonic() + 3600.0)
    assert float(ahead.optimizer.learning_rate) == pytest.approx(0.1, rel=1e-3)
