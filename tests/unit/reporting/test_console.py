"""The live console rendered into a string: one line per finished trial, the best-trials table.

Real in-memory Optuna studies; rich's Console writes to an ``io.StringIO``.
"""

from __future__ import annotations

import datetime as dt
import io

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from rich.console import Console

from cnnsearch._keys import INITIAL_ATTR, NEIGHBOUR_ATTR, PRUNED_EPOCH_ATTR, REASON_ATTR, STOPPED_EPOCH_ATTR
from cnnsearch.reporting import PoolConsole, SearchConsole
from cnnsearch.reporting._console import best_trials_table
from cnnsearch.spec import Spec, validate_spec

DISTRIBUTIONS = {
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "optimizer": CategoricalDistribution(["adam", "sgd"]),
}
START = dt.datetime(2026, 1, 1, 12, 0, 0)


def _spec(n_trials: int = 6) -> Spec:
    return validate_spec({"study": {"name": "shown", "n_trials": n_trials}, "data": {"dataset": "digits"}})


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, color_system=None), out


def _add(study: optuna.Study, state: TrialState, value: float | None = None, seconds: float = 12.5, lr: float = 0.001,
         attrs: dict[str, object] | None = None) -> optuna.trial.FrozenTrial:  # fmt: skip
    trial = create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"learning_rate": lr, "optimizer": "adam"},
        distributions=DISTRIBUTIONS,
        user_attrs=dict(attrs or {}),
        intermediate_values={0: 0.31, 1: 0.42} if state == TrialState.PRUNED else None,
    )
    trial.datetime_start = START
    trial.datetime_complete = START + dt.timedelta(seconds=seconds)
    study.add_trial(trial)
    return study.trials[-1]


@pytest.fixture
def study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="shown", direction="maximize")


def test_a_line_per_finished_trial_in_each_state(study: optuna.Study) -> None:
    console, out = _console()
    display = SearchConsole(_spec(), console)
    trials = [
        _add(study, TrialState.COMPLETE, 0.91234, attrs={STOPPED_EPOCH_ATTR: 7}),
        _add(study, TrialState.PRUNED, seconds=3.0, attrs={PRUNED_EPOCH_ATTR: 2}),
        _add(study, TrialState.FAIL, seconds=0.4, attrs={REASON_ATTR: "loss became NaN at epoch 0"}),
        _add(study, TrialState.COMPLETE, 0.5, seconds=100.0),
    ]
    for trial in trials:
        display.trial_finished(study, trial)
    assert out.getvalue().splitlines() == [
        "trial   0  COMPLETE    12.5s  val_accuracy 0.9123  early-stopped at epoch 7",
        "trial   1  PRUNED       3.0s  val_accuracy 0.4200  pruned at epoch 2",  # its last reported value
        "trial   2  FAIL         0.4s  loss became NaN at epoch 0",
        "trial   3  COMPLETE   100.0s  val_accuracy 0.5000",
    ]


def test_the_planned_start_up_trials_say_where_they_came_from(study: optuna.Study) -> None:
    console, out = _console()
    display = SearchConsole(_spec(), console)
    display.trial_finished(study, _add(study, TrialState.COMPLETE, 0.5, attrs={INITIAL_ATTR: True}))
    display.trial_finished(study, _add(study, TrialState.COMPLETE, 0.6, attrs={NEIGHBOUR_ATTR: "learning_rate=0.006"}))
    display.trial_finished(study, _add(study, TrialState.COMPLETE, 0.4))
    assert out.getvalue().splitlines() == [
        "trial   0  COMPLETE    12.5s  val_accuracy 0.5000  initial params",
        "trial   1  COMPLETE    12.5s  val_accuracy 0.6000  initial params with learning_rate=0.006",
        "trial   2  COMPLETE    12.5s  val_accuracy 0.4000",
    ]


def test_resuming_says_where_the_study_stands(study: optuna.Study) -> None:
    console, out = _console()
    SearchConsole(_spec(), console).study_opened(study)
    assert out.getvalue() == ""  # a new study: nothing to say
    _add(study, TrialState.COMPLETE, 0.8)
    _add(study, TrialState.PRUNED)
    _add(study, TrialState.FAIL)
    SearchConsole(_spec(), console).study_opened(study)
    assert out.getvalue().strip() == "Resuming study 'shown': 2 of 6 trials done."


def test_best_trials_table_ranks_complete_trials_with_their_params(study: optuna.Study) -> None:
    _add(study, TrialState.COMPLETE, 0.75, lr=0.0123456)
    _add(study, TrialState.COMPLETE, 0.93, lr=0.002)
    _add(study, TrialState.PRUNED)
    _add(study, TrialState.FAIL)
    _add(study, TrialState.COMPLETE, 0.61)
    console, out = _console()
    SearchConsole(_spec(), console).final_table(study, top=2)
    text = out.getvalue()
    assert "Best trials of 'shown' (3 complete, 1 pruned, 1 failed)" in text
    rows = [line for line in text.splitlines() if "learning_rate=" in line]
    assert len(rows) == 2  # top=2
    cells = [[cell.strip() for cell in row.split("│")[1:-1]] for row in rows]
    assert [row[:2] for row in cells] == [["1", "0.9300"], ["0", "0.7500"]]  # best first
    assert cells[0][2] == "learning_rate=0.002  optimizer=adam"
    assert cells[1][2] == "learning_rate=0.0123  optimizer=adam"  # floats to 3 significant digits
    assert "0.6100" not in text
    header = best_trials_table(study, _spec(), top=5).columns
    assert [column.header for column in header] == ["trial", "val_accuracy", "params"]


def test_pool_console_prints_each_ended_trial_once(study: optuna.Study) -> None:
    _add(study, TrialState.COMPLETE, 0.8)  # ended before this session: not printed again
    console, out = _console()
    display = PoolConsole(_spec(), workers=2, console=console)
    display.study_opened(study)
    assert "trial   0" not in out.getvalue()
    _add(study, TrialState.FAIL, attrs={REASON_ATTR: "worker 1 died"})
    study.add_trial(create_trial(state=TrialState.RUNNING))
    display.refresh(study)
    display.refresh(study)  # nothing new: nothing printed
    lines = [line for line in out.getvalue().splitlines() if line.startswith("trial")]
    assert lines == ["trial   1  FAIL        12.5s  worker 1 died"]
    display.say("stopping 2 worker(s)")
    assert out.getvalue().splitlines()[-1] == "stopping 2 worker(s)"
