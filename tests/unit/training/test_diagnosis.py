"""The diagnosis rule on synthetic curves, and on curves recorded from the digits demo."""

from __future__ import annotations

import math

import pytest

from cnnsearch.training import LABELS, diagnose

BASE = math.log(10)  # ten classes: the loss of a uniform guess


def curves(loss: list[float], val: list[float]) -> dict[str, list[float]]:
    return {"loss": loss, "val_loss": val}


def test_falling_together_is_healthy() -> None:
    d = diagnose(curves([2.2, 1.0, 0.6, 0.4, 0.3, 0.25], [2.1, 1.1, 0.7, 0.5, 0.4, 0.35]), BASE)
    assert d.label == "healthy"


def test_validation_rising_off_its_minimum_is_overfitting() -> None:
    d = diagnose(curves([2.0, 1.0, 0.5, 0.3, 0.2, 0.1], [2.0, 1.1, 0.6, 0.65, 0.75, 0.9]), BASE)
    assert d.label == "overfitting"
    assert "above its minimum (epoch 2)" in d.reason


def test_a_widening_gap_is_overfitting_even_when_validation_still_falls() -> None:
    d = diagnose(curves([0.9, 0.2, 0.1, 0.06, 0.05], [2.09, 2.03, 2.03, 1.99, 1.87]), BASE)
    assert d.label == "overfitting"
    assert d.reason.startswith("the gap val_loss - loss widened")


def test_both_curves_stuck_near_guessing_is_underfitting() -> None:
    d = diagnose(curves([2.31, 2.30, 2.30, 2.29, 2.29], [2.30, 2.30, 2.29, 2.29, 2.29]), BASE)
    assert d.label == "underfitting"


def test_slow_learner_above_the_floor_is_underfitting() -> None:
    # Both curves fell, but neither below 35% of ln(10) ~ 0.81.
    d = diagnose(curves([2.3, 1.7, 1.4, 1.3, 1.27], [2.2, 1.3, 1.0, 0.9, 0.88]), BASE)
    assert d.label == "underfitting"


def test_zigzag_validation_loss_is_unstable() -> None:
    d = diagnose(curves([2.3, 1.6, 1.5, 1.4, 1.3, 1.2], [2.3, 1.5, 2.8, 1.2, 3.1, 1.4]), BASE)
    assert d.label == "unstable"
    assert d.reason == "val_loss reversed direction 4 times"


def test_nan_loss_is_unstable_whatever_else() -> None:
    d = diagnose(curves([2.3, 5.0, math.nan], [2.3, 7.0]), BASE)
    assert (d.label, d.reason) == ("unstable", "loss became non-finite at epoch 2")


def test_small_wiggles_late_in_a_falling_curve_are_not_instability() -> None:
    val = [2.0, 1.0, 0.5, 0.3, 0.22, 0.25, 0.21, 0.24, 0.2, 0.22, 0.19]
    loss = [2.1, 1.1, 0.6, 0.35, 0.26, 0.24, 0.22, 0.21, 0.2, 0.19, 0.18]
    assert diagnose(curves(loss, val), BASE).label == "healthy"


def test_unstable_wins_over_underfitting() -> None:
    d = diagnose(curves([2.3, 2.2, 2.25, 2.2, 2.3], [2.3, 1.5, 2.6, 1.4, 2.7]), BASE)
    assert d.label == "unstable"


def test_without_a_baseline_the_first_epoch_sets_the_scale() -> None:
    flat = curves([1.0, 0.99, 0.98, 0.98], [1.0, 0.99, 0.99, 0.98])
    assert diagnose(flat).label == "underfitting"
    assert diagnose(curves([1.0, 0.3, 0.2, 0.1], [0.9, 0.3, 0.2, 0.15])).label == "healthy"


def test_short_curves_and_no_validation() -> None:
    assert diagnose(curves([0.5], [0.45]), BASE).label == "healthy"
    assert diagnose(curves([2.2], [2.2]), BASE).label == "underfitting"
    assert diagnose({"loss": [2.0, 0.5, 0.2]}, BASE).label == "healthy"
    with pytest.raises(ValueError, match="no 'loss' history"):
        diagnose({}, BASE)


# Curves logged by `cnnsearch run search_spaces/digits.toml` (trial numbers from that run).
DIGITS = {
    "healthy": curves(  # trial 4, val_accuracy 0.995
        [2.26, 1.51, 0.52, 0.26, 0.19, 0.12, 0.10, 0.06, 0.06, 0.05, 0.04, 0.03, 0.01, 0.02, 0.02],
        [2.10, 0.62, 0.23, 0.18, 0.12, 0.13, 0.06, 0.09, 0.07, 0.10, 0.03, 0.04, 0.03, 0.03, 0.03],
    ),
    "underfitting": curves(  # trial 6, learning rate too low for 6 epochs: val_accuracy 0.11
        [2.30, 2.30, 2.30, 2.30, 2.30, 2.29],
        [2.30, 2.30, 2.30, 2.29, 2.29, 2.29],
    ),
    "overfitting": curves(  # trial 10: training loss falls, validation stays at chance
        [2.58, 1.60, 1.19, 0.98, 0.83],
        [2.27, 2.25, 2.27, 2.32, 2.34],
    ),
}


@pytest.mark.parametrize("label", sorted(DIGITS))
def test_recorded_digits_curves(label: str) -> None:
    assert diagnose(DIGITS[label], BASE).label == label


def test_every_label_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "diagnosis.md").read_text()
    for label in LABELS:
        assert f"`{label}`" in doc
