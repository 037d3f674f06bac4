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
    """The best complete trial, or None when none completed.

    In a multi-objective study: the most accurate feasible one (the best first objective), which
    is on the front; ``best --export`` ships it unless ``--pick`` says otherwise.
    """
    if len(study.directions) > 1:
        done = ranked(study)
        return done[0] if done else None
    try:
        return study.best_trial
    except ValueError:
        return None


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """The feasible complete trials with a value, best first (by the first objective's direction)."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values is not None and feasible(t)
    ]
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    return sorted(done, key=lambda t: float(score(t) or 0.0), reverse=maximize)


def score(trial: FrozenTrial) -> float | None:
    """The value the search trained for: the trial's value, or its first objective's in a
    multi-objective study (where Optuna's ``FrozenTrial.value`` raises). None without values."""
    return trial.values[0] if trial.values else None


def feasible(trial: FrozenTrial) -> bool:
    """Within every hard limit (Optuna's constraints all <= 0); a trial without constraints is."""
    return all(value <= 0.0 for value in trial.constraints.values())
