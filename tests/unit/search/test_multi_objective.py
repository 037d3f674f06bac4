"""Objective values, hard limits as constraints, the front and ``--pick``, on real in-memory Optuna studies."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from cnnsearch.errors import CnnsearchError
from cnnsearch.search import _checkpoints as checkpoints
from cnnsearch.search import best_trial, dominates, front, pick_trial, ranked, score
from cnnsearch.search._multi_objective import constraint_values, front_numbers, infeasible_reason
from cnnsearch.spec import load_spec
from tests.helpers import SpecFile

OBJECTIVES = (
    'study.objectives=[{ metric = "val_accuracy", direction = "maximize" }, '
    '{ metric = "latency_ms", direction = "minimize" }]'
)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(*points: tuple[float, float], infeasible: tuple[int, ...] = ()) -> optuna.Study:
    """A (val_accuracy, latency_ms) study: a complete trial per point; those in ``infeasible`` break a limit."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for i, (accuracy, latency) in enumerate(points):
        constraint = {"constraints:max_latency_ms": 0.5 if i in infeasible else -0.5}
        study.add_trial(
            create_trial(
                values=[accuracy, latency], user_attrs={"costs": {"latency_ms": latency}}, system_attrs=constraint
            )
        )
    study.add_trial(create_trial(state=TrialState.PRUNED, user_attrs={"costs": {"latency_ms": 0.1}}))
    return study


#: Trial 0 dominates 3; 1 and 2 trade accuracy for latency; 4 is the most accurate but over the limit.
POINTS = [(0.9, 2.0), (0.8, 1.0), (0.6, 0.5), (0.85, 3.0), (0.95, 9.0)]


def test_limits_become_relative_constraints_and_a_reason() -> None:
    costs = {"latency_ms": 7.5, "params": 1000}
    assert constraint_values(costs, {"latency_ms": 5.0, "params": 2000}) == {"max_latency_ms": 0.5, "max_params": -0.5}
    assert infeasible_reason(costs, {"latency_ms": 5.0}) == "latency_ms 7.5 > max_latency_ms 5"
    assert infeasible_reason(costs, {"latency_ms": 8.0, "params": 1000}) is None  # at the limit is within it


def test_dominates() -> None:
    directions = [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert dominates([0.9, 2.0], [0.85, 3.0], directions)
    assert not dominates([0.9, 2.0], [0.8, 1.0], directions)
    assert not dominates([0.9, 2.0], [0.9, 2.0], directions)  # equal: neither


def test_the_front_is_the_feasible_undominated_trials_best_score_first() -> None:
    study = _study(*POINTS, infeasible=(4,))
    assert [t.number for t in front(study)] == [0, 1, 2]
    assert front_numbers(study) == [0, 1, 2]
    assert front_numbers(study, candidate=(9, [0.7, 0.4])) == [0, 1, 9]  # a candidate that dominates trial 2
    assert [t.number for t in ranked(study)] == [0, 3, 1, 2]  # feasible, by the first objective
    best = best_trial(study)
    assert best is not None and best.number == 0 and score(best) == 0.9


def test_a_single_objective_front_is_its_best_trial() -> None:
    study = optuna.create_study(direction="minimize")
    for value in (0.3, 0.1, 0.2):
        study.add_trial(create_trial(value=value))
    assert [t.number for t in front(study)] == [1]


@pytest.mark.parametrize(
    ("pick", "number", "rule"),
    [
        (None, 0, "the most accurate feasible trial (default)"),
        ("latency_ms<=1", 1, "the most accurate trial on the front with latency_ms<=1"),
        ("latency_ms < 1", 2, "the most accurate trial on the front with latency_ms < 1"),
        (
            "val_accuracy>=0.7,latency_ms<=1.5",
            1,
            "the most accurate trial on the front with val_accuracy>=0.7,latency_ms<=1.5",
        ),
        ("trial=2", 2, "trial=2"),
    ],
)
def test_pick(tiny_spec_file: SpecFile, pick: str | None, number: int, rule: str) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES])
    chosen = pick_trial(_study(*POINTS, infeasible=(4,)), spec, pick)
    assert (chosen.trial.number, chosen.rule, chosen.on_front) == (number, rule, True)


def test_pick_a_dominated_trial_says_which_one_dominates_it(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES])
    chosen = pick_trial(_study(*POINTS), spec, "trial=3")
    assert not chosen.on_front and chosen.note == "trial 3 is not on the front: trial 0 dominates it"


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (
            "latency_ms<=0.1",
            "--pick 'latency_ms<=0.1': no trial on the front meets it (latency_ms on the front: 0.5 to 2)",
        ),
        ("latency<=1", "--pick: 'latency' is not an objective here; expected one of val_accuracy, params, flops"),
        ("latency_ms~1", "--pick: expected trial=N or conditions such as 'latency_ms<=5'"),
        ("params<=1000", "--pick: params was not measured by trial 0"),
        ("trial=4", "--pick trial=4: trial 4 is over a hard limit"),
        ("trial=5", "--pick trial=5: trial 5 is PRUNED, not COMPLETE"),
        ("trial=42", "--pick trial=42: study 'no-name"),
    ],
)
def test_a_pick_that_fits_nothing_is_one_line(tiny_spec_file: SpecFile, pick: str, message: str) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES])
    with pytest.raises(CnnsearchError) as error:
        pick_trial(_study(*POINTS, infeasible=(4,)), spec, pick)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_a_multi_objective_study_keeps_the_weights_of_its_front(tiny_spec_file: SpecFile, tmp_path: Path) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES, "study.keep_top_k=1"])
    study = _study(*POINTS, infeasible=(4,))
    assert checkpoints.top_k(study, spec) == [0, 1, 2]  # every trial a pick can ship, not only the best one
    assert checkpoints.top_k(study, spec, candidate=(9, [0.99, 0.1])) == [9]
    with pytest.raises(TypeError):
        checkpoints.top_k(study, spec, candidate=(9, 0.99))
    assert checkpoints.top_k(study, load_spec(tiny_spec_file(), [OBJECTIVES, "study.keep_top_k=0"])) == []
