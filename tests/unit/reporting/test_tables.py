"""A study read back as tables: filtered, sorted trials and the best record, on real in-memory studies."""

from __future__ import annotations

import datetime as dt

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from cnnsearch._keys import EPOCHS_RUN_ATTR, PRUNED_EPOCH_ATTR, REASON_ATTR, RUN_ID_ATTR
from cnnsearch.errors import CnnsearchError
from cnnsearch.reporting import best_record, trials_frame
from cnnsearch.spec import validate_spec

START = dt.datetime(2026, 1, 1, 12, 0, 0)


def _spec(direction: str = "maximize"):
    return validate_spec({"study": {"name": "table", "direction": direction}, "data": {"dataset": "digits"}})


def _study(direction: str = "maximize") -> optuna.Study:
    """Trials 0..3: complete 0.6 (4 s), pruned at epoch 1, failed, complete 0.9 (2 s)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="table", direction=direction)
    rows = [
        (TrialState.COMPLETE, 0.6, 4.0, {RUN_ID_ATTR: "a" * 32, EPOCHS_RUN_ATTR: 5}),
        (TrialState.PRUNED, None, 1.0, {RUN_ID_ATTR: "c" * 32, PRUNED_EPOCH_ATTR: 1, EPOCHS_RUN_ATTR: 2}),
        (TrialState.FAIL, None, 0.5, {RUN_ID_ATTR: "d" * 32, REASON_ATTR: "loss became NaN at epoch 0"}),
        (TrialState.COMPLETE, 0.9, 2.0, {RUN_ID_ATTR: "b" * 32, EPOCHS_RUN_ATTR: 3}),
    ]
    for number, (state, value, seconds, attrs) in enumerate(rows):
        trial = create_trial(state=state, value=value, params={"lr": 0.001 * (number + 1)},
                             distributions={"lr": FloatDistribution(1e-4, 1e-1)}, user_attrs=attrs)  # fmt: skip
        trial.datetime_start = START
        trial.datetime_complete = START + dt.timedelta(seconds=seconds)
        study.add_trial(trial)
    return study


def test_trials_frame_has_a_row_per_trial_and_a_column_per_param() -> None:
    frame = trials_frame(_study(), _spec())
    assert list(frame["number"]) == [0, 1, 2, 3]
    assert list(frame["state"]) == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE"]
    assert list(frame["duration_s"]) == [4.0, 1.0, 0.5, 2.0]
    assert frame["pruned_epoch"].tolist()[1] == 1 and frame["pruned_epoch"].isna().sum() == 3
    assert frame["fail_reason"][2] == "loss became NaN at epoch 0"
    assert frame["params.lr"].tolist() == pytest.approx([0.001, 0.002, 0.003, 0.004])
    assert list(frame.columns)[:3] == ["number", "state", "value"]


@pytest.mark.parametrize(("direction", "order"), [("maximize", [3, 0]), ("minimize", [0, 3])])
def test_sort_by_value_is_best_first_for_the_direction(direction: str, order: list[int]) -> None:
    frame = trials_frame(_study(direction), _spec(direction), sort="value")
    assert list(frame["number"])[:2] == order  # trials without a value last
    assert list(trials_frame(_study(), _spec(), sort="duration_s")["number"]) == [2, 1, 3, 0]
    assert list(trials_frame(_study(), _spec(), sort="value", top=1)["number"]) == [3]


def test_state_filter_and_bad_options() -> None:
    frame = trials_frame(_study(), _spec(), states=["pruned", "FAIL"])
    assert list(frame["number"]) == [1, 2]
    with pytest.raises(
        CnnsearchError, match="^--state: expected one of COMPLETE, PRUNED, FAIL, RUNNING, WAITING, got DONE$"
    ):
        trials_frame(_study(), _spec(), states=["DONE"])
    with pytest.raises(CnnsearchError, match="^--sort: expected one of value, number, duration_s, got 'speed'$"):
        trials_frame(_study(), _spec(), sort="speed")


def test_best_record() -> None:
    record = best_record(_study(), _spec())
    assert record == {
        "study": "table", "metric": "val_accuracy", "direction": "maximize", "number": 3, "value": 0.9,
        "params": {"lr": 0.004}, "mlflow_run_id": "b" * 32, "epochs_run": 3,
    }  # fmt: skip
    empty = optuna.create_study(study_name="empty")
    with pytest.raises(CnnsearchError, match="^study 'empty' has no complete trial yet$"):
        best_record(empty, _spec())
