"""The cost-group pruning rule on real Optuna trials: a trial is judged only against those that cost no more."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial

from cnnsearch.search._cost_pruning import CostGroupRule, CurveTrial


def _trial(
    number: int, params: int, curve: list[float], state: TrialState = TrialState.COMPLETE, **attrs: Any
) -> FrozenTrial:
    values = [max(curve), float(params)] if state == TrialState.COMPLETE else None
    trial = create_trial(state=state, values=values, user_attrs={"costs": {"params": params}, "curve": curve, **attrs})
    trial.number = number
    return trial


def _rule(rule: str = "median", startup: int = 2, epochs: int = 10) -> CostGroupRule:
    return CostGroupRule(rule=rule, cost_names=("params",), maximize=True, startup_trials=startup, epochs=epochs)


CHEAP = [_trial(0, 1_000, [0.3, 0.6, 0.7]), _trial(1, 1_200, [0.3, 0.5, 0.7])]
COSTLY = [_trial(2, 50_000, [0.5, 0.9, 0.95]), _trial(3, 60_000, [0.5, 0.85, 0.9])]


def test_a_costly_trial_worse_than_the_trials_that_cost_no_more_is_pruned() -> None:
    reason = _rule().judge([*CHEAP, *COSTLY], 9, {"params": 10_000}, [0.2, 0.3])
    assert reason == "best 0.3 by epoch 1 is worse than the median 0.55 of 2 trials costing no more"


def test_a_cheap_trial_is_not_pruned_for_being_worse_than_costlier_ones() -> None:
    # Far below the costly trials at epoch 1, but none of them costs as little: no peers, no pruning.
    assert _rule().judge([*CHEAP, *COSTLY], 9, {"params": 500}, [0.1, 0.2]) is None
    # Among the costly ones it would be pruned: the same curve, judged as a 70k-weight network.
    assert _rule().judge([*CHEAP, *COSTLY], 9, {"params": 70_000}, [0.1, 0.2]) is not None


def test_peers_may_cost_up_to_the_tolerance_more() -> None:
    # 1,200 weights is within 10% of 1,100: trial 1 is a peer, and with trial 0 the two beat 0.2.
    assert _rule().judge(CHEAP, 9, {"params": 1_100}, [0.1, 0.2]) is not None
    assert _rule().judge(CHEAP, 9, {"params": 1_050}, [0.1, 0.2]) is None  # 1,200 > 1.1 x 1,050: one peer only


@pytest.mark.parametrize(
    ("case", "rule", "curve", "startup"),
    [
        ("epoch 0 is never judged", "median", [0.1], 2),
        ("the last epoch is never judged", "median", [0.1] * 10, 2),
        ("less than half the schedule left (epoch 5 of 10)", "median", [0.1] * 6, 2),
        ("fewer complete trials than startup_trials", "median", [0.1, 0.2], 5),
        ("a NaN value", "median", [0.1, float("nan")], 2),
        ("no rule", None, [0.1, 0.2], 2),
        ("not a successive-halving rung (epoch 2)", "halving", [0.1, 0.1, 0.1], 2),
    ],
)
def test_when_nothing_is_pruned(case: str, rule: str | None, curve: list[float], startup: int) -> None:
    judge = CostGroupRule(rule, ("params",), maximize=True, startup_trials=startup, epochs=10)
    assert judge.judge(CHEAP, 9, {"params": 10_000}, curve) is None, case


def test_pruning_stops_once_half_the_schedule_is_spent() -> None:
    peers = [_trial(n, 1_000, [0.5] * 10) for n in (10, 11)]
    assert [_rule().judge(peers, 9, {"params": 2_000}, [0.1] * (e + 1)) is not None for e in range(10)] == (
        [False] + [True] * 4 + [False] * 5  # epochs 1-4 of 10: 5 or more epochs still to save
    )
    assert _rule(epochs=3).last_epoch == 2  # a short schedule is still judged at epoch 1
    assert _rule(epochs=2).last_epoch == 1  # (epoch 1 of 2 is the last: never judged)


def test_successive_halving_keeps_the_top_third_at_each_rung() -> None:
    peers = [_trial(n, 1_000, [0.3, v, 0.8, v]) for n, v in enumerate([0.4, 0.5, 0.6, 0.7, 0.8], start=10)]
    halving = _rule("halving")
    # Epoch 1 is a rung: 6 competitors, the top 2 survive (0.8 and 0.7); 0.65 does not.
    assert halving.judge(peers, 1, {"params": 2_000}, [0.3, 0.65]) == (
        "0.65 at epoch 1 is not in the top 2 of 6 trials costing no more (successive halving)"
    )
    assert halving.judge(peers, 1, {"params": 2_000}, [0.3, 0.75]) is None
    # Running and pruned peers count at a rung (as in Optuna's successive halving), failed ones have no curve.
    running = [_trial(n, 1_000, [0.3, 0.9], state=TrialState.RUNNING) for n in (20, 21)]
    assert halving.judge(running, 1, {"params": 2_000}, [0.3, 0.5]) is not None


def test_infeasible_trials_and_trials_without_costs_are_no_peers() -> None:
    over = _trial(5, 100, [0.9, 0.9], state=TrialState.PRUNED, infeasible="params 100 > max_params 50")
    unmeasured = create_trial(state=TrialState.COMPLETE, values=[0.9, 1.0], user_attrs={"curve": [0.9, 0.9]})
    unmeasured.number = 6
    assert _rule(startup=0).judge([over, unmeasured, CHEAP[0]], 9, {"params": 10_000}, [0.1, 0.2]) is None


def test_curve_trial_records_the_curve_and_the_reason_on_the_optuna_trial() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(directions=["maximize", "minimize"])
    for peer in CHEAP:
        study.add_trial(peer)
    trial = study.ask()
    reporter = CurveTrial(trial, _rule(), {"params": 10_000})
    reporter.report(0.2, step=0)
    assert reporter.should_prune() is False  # epoch 0
    reporter.report(0.25, step=2)  # epoch 1 had no finite value: a gap
    assert study.trials[-1].user_attrs["curve"] == [0.2, None, 0.25]
    assert reporter.should_prune() is True  # epoch 2: below the median (0.7) of the two cheaper trials there
    assert study.trials[-1].user_attrs["prune_reason"] == (
        "best 0.25 by epoch 2 is worse than the median 0.7 of 2 trials costing no more"
    )
