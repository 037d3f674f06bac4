"""Name what a trial's learning curves show: overfitting, underfitting, unstable or healthy.

A pure function of the per-epoch history (no Keras, no MLflow), so the rule can be
tested on synthetic curves and applied the same way wherever curves come from. The
rule is documented in docs/diagnosis.md; the thresholds are the constants below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LABELS = ("unstable", "overfitting", "underfitting", "healthy")

# Thresholds. Absolute ones are shares of the baseline loss (what a model that has
# learned nothing scores), so the rule reads the same for any number of classes.
#: A validation-loss change counts as a move (not noise) above both of these.
MOVE_RANGE_SHARE = 0.10  # of the curve's own range (max - min)
MOVE_BASELINE_SHARE = 0.05
#: This many direction reversals among those moves make a curve unstable.
UNSTABLE_REVERSALS = 2
#: Overfitting (a): validation loss ended this far above its minimum ...
RISE_SHARE = 0.10  # of that minimum
RISE_BASELINE_SHARE = 0.02
#: Overfitting (b): the gap val_loss - loss ends at least this large and grew this much.
GAP_BASELINE_SHARE = 0.20
GAP_GROWTH_BASELINE_SHARE = 0.10
#: Underfitting: neither curve got below this share of the baseline loss.
UNDERFIT_SHARE = 0.35


@dataclass(frozen=True)
class Diagnosis:
    """The label and a one-line reason a person can check against the curve."""

    label: str
    reason: str


def diagnose(history: dict[str, list[float]], baseline_loss: float | None = None) -> Diagnosis:
    """Label one trial's curves; the first rule that matches wins (see docs/diagnosis.md).

    ``history`` holds Keras history lists (``loss`` and, with validation, ``val_loss``).
    ``baseline_loss`` is the loss of a model that has learned nothing: ``ln(classes)``
    for cross-entropy on balanced classes; without it, the first epoch's training loss.
    """
    loss = [float(v) for v in history.get("loss", [])]
    val = [float(v) for v in history.get("val_loss", [])]
    if not loss:
        raise ValueError("no 'loss' history to diagnose")

    for name, series in (("loss", loss), ("val_loss", val)):
        bad = next((i for i, v in enumerate(series) if not math.isfinite(v)), None)
        if bad is not None:
            return Diagnosis("unstable", f"{name} became non-finite at epoch {bad}")

    baseline = baseline_loss if baseline_loss and baseline_loss > 0 else loss[0]
    reversals = _reversals(val, MOVE_BASELINE_SHARE * baseline)
    if reversals >= UNSTABLE_REVERSALS:
        return Diagnosis("unstable", f"val_loss reversed direction {reversals} times")

    if len(val) >= 2:
        best = val.index(min(val))
        rise = val[-1] - val[best]
        if rise >= max(RISE_SHARE * val[best], RISE_BASELINE_SHARE * baseline) and loss[-1] < loss[best]:
            return Diagnosis(
                "overfitting",
                f"val_loss ended {rise / val[best]:.0%} above its minimum (epoch {best}) "
                f"while loss kept falling ({loss[best]:.3g} -> {loss[-1]:.3g})",
            )
        gaps = [v - t for t, v in zip(loss, val)]
        if gaps[-1] >= GAP_BASELINE_SHARE * baseline and gaps[-1] - min(gaps) >= GAP_GROWTH_BASELINE_SHARE * baseline:
            return Diagnosis(
                "overfitting",
                f"the gap val_loss - loss widened from {min(gaps):.3g} to {gaps[-1]:.3g}",
            )

    floor = UNDERFIT_SHARE * baseline
    best_train, best_val = min(loss), min(val) if val else min(loss)
    if best_train > floor and best_val > floor:
        return Diagnosis(
            "underfitting",
            f"best loss {best_train:.3g} and val_loss {best_val:.3g} stayed above "
            f"{UNDERFIT_SHARE:.0%} of the baseline {baseline:.3g}",
        )

    return Diagnosis("healthy", "no rule matched: curves fall together without large swings")


def _reversals(series: list[float], floor: float) -> int:
    """Direction changes among the moves larger than ``floor`` and MOVE_RANGE_SHARE of the range."""
    if len(series) < 3:
        return 0
    tolerance = max(MOVE_RANGE_SHARE * (max(series) - min(series)), floor)
    signs = [1 if b > a else -1 for a, b in zip(series, series[1:]) if abs(b - a) > tolerance]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)
