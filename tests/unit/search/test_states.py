"""Counting a study's trials by state, and ranking the complete ones, on real in-memory Optuna studies."""

from __future__ import annotations

from typing import Literal

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from cnnsearch.search import ENDED, FINISHED, best_trial, ranked, trial_counts
from cnnsearch.search._states import TrialCounts


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(
    direction: Literal["maximize", "minimize"] = "maximize", values: tuple[float, ...] | list[float] = (), **states: int
) -> optuna.Study:
    """A complete trial per value (its param ``x`` is the value), then ``states`` (e.g. PRUNED=2) more."""
    study = optuna.create_study(direction=direction)
    for value in values:
        study.add_trial(create_trial(value=value, params={"x": value}, distributions={"x": FloatDistribution(-10, 10)}))
    for name, count in states.items():
        for _ in range(count):
            study.add_trial(create_trial(state=TrialState[name]))
    return study


def test_trial_counts_counts_each_state() -> None:
    study = _study(values=[0.1, 0.2, 0.3], PRUNED=2, FAIL=1, RUNNING=4, WAITING=5)
    counts = trial_counts(study)
    assert counts == TrialCounts(complete=3, pruned=2, fail=1, running=4, waiting=5)
    assert counts.finished == 5  # what n_trials counts: complete + pruned
    assert counts.by_name() == {"COMPLETE": 3, "PRUNED": 2, "FAIL": 1, "RUNNING": 4, "WAITING": 5}


def test_by_name_leaves_out_empty_states() -> None:
    assert trial_counts(_study(values=[1.0], FAIL=2)).by_name() == {"COMPLETE": 1, "FAIL": 2}
    assert trial_counts(optuna.create_study()) == TrialCounts()
    assert TrialCounts().by_name() == {} and TrialCounts().finished == 0


def test_the_state_groups() -> None:
    assert set(FINISHED) == {TrialState.COMPLETE, TrialState.PRUNED}
    assert set(ENDED) == {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}


@pytest.mark.parametrize(("direction", "order"), [("maximize", [0.9, 0.5, 0.1]), ("minimize", [0.1, 0.5, 0.9])])
def test_ranked_is_complete_trials_best_first(direction: Literal["maximize", "minimize"], order: list[float]) -> None:
    study = _study(direction, values=[0.5, 0.1, 0.9], PRUNED=1, FAIL=1, RUNNING=1)
    trials = ranked(study)
    assert [t.value for t in trials] == order
    assert all(t.state == TrialState.COMPLETE for t in trials)
    best = best_trial(study)
    assert best is not None and trials[0].number == best.number == study.best_trial.number


def test_best_trial_is_none_without_a_complete_trial() -> None:
    assert best_trial(optuna.create_study()) is None
    assert best_trial(_study(PRUNED=1, FAIL=2, RUNNING=1)) is None
    assert ranked(_study(PRUNED=1, FAIL=2)) == []
    best = best_trial(_study("minimize", values=[3.0, -2.0, 1.0]))
    assert best is not None and best.value == -2.0 and best.params == {"x": -2.0}
