"""Counting a study's trials by state: the one place that does it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

#: States that count toward ``n_trials``.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: States of trials that ran to an end (for display and the failure streak).
ENDED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class TrialCounts:
    """How many trials a study holds in each state."""

    complete: int = 0
    pruned: int = 0
    fail: int = 0
    running: int = 0
    waiting: int = 0

    @property
    def finished(self) -> int:
        """Complete + pruned: what ``n_trials`` counts."""
        return self.complete + self.pruned

    def by_name(self) -> dict[str, int]:
        """State name -> count, for states with at least one trial (COMPLETE, PRUNED, ...)."""
        counts = {"COMPLETE": self.complete, "PRUNED": self.pruned, "FAIL": self.fail}
        counts.update(RUNNING=self.running, WAITING=self.waiting)
        return {name: n for name, n in counts.items() if n}


def trial_counts(study: optuna.Study) -> TrialCounts:
    """Count the study's trials by state, in one pass over them."""
    counts = Counter(t.state for t in study.get_trials(deepcopy=False))
    return TrialCounts(
        complete=counts[TrialState.COMPLETE],
        pruned=counts[TrialState.PRUNED],
        fail=counts[TrialState.FAIL],
        running=counts[TrialState.RUNNING],
        waiting=counts[TrialState.WAITING],
    )


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None when none completed."""
    try:
        return study.best_trial
    except ValueError:
        return None


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """The complete trials with a value, best first (by the study's direction)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(done, key=lambda t: float(t.value or 0.0), reverse=maximize)
