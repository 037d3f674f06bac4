"""Abandoned-trial detection (dead process, silent heartbeat) and the capped retry of a failed trial."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from cnnsearch.search import _heartbeat as heartbeat
from tests.helpers import FakeTracking


def _running(user_attrs: dict) -> optuna.trial.FrozenTrial:
    study = optuna.create_study()
    trial = study.ask()
    for key, value in user_attrs.items():
        trial.set_user_attr(key, value)
    return study._storage.get_trial(trial._trial_id)


def test_stale_reason_by_pid_and_by_heartbeat() -> None:
    now = time.time()
    alive = {"host": heartbeat.HOST, "pid": os.getpid()}
    assert heartbeat.stale_reason(_running({heartbeat.OWNER_ATTR: alive, heartbeat.BEAT_ATTR: now}), now) is None

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {"host": heartbeat.HOST, "pid": int(gone.stdout)}
    reason = heartbeat.stale_reason(_running({heartbeat.OWNER_ATTR: dead, heartbeat.BEAT_ATTR: now}), now)
    assert reason is not None and "died during the trial" in reason

    remote = {"host": "elsewhere", "pid": 1}
    fresh = _running({heartbeat.OWNER_ATTR: remote, heartbeat.BEAT_ATTR: now - 5})
    assert heartbeat.stale_reason(fresh, now) is None  # another machine, still beating
    silent = _running({heartbeat.OWNER_ATTR: remote, heartbeat.BEAT_ATTR: now - heartbeat.GRACE_S - 1})
    assert "no heartbeat from process 1 on elsewhere" in str(heartbeat.stale_reason(silent, now))

    assert "unclaimed" in str(heartbeat.stale_reason(_running({}), now))


def test_retry_keeps_params_and_caps_the_chain() -> None:
    study = optuna.create_study()
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, state=TrialState.FAIL)
    failed = study.trials[0]
    assert heartbeat.enqueue_retry(study, failed, "test")
    retry = study.trials[1]
    assert retry.state == TrialState.WAITING and retry.params == failed.params
    assert retry.user_attrs["retried_from"] == 0 and retry.system_attrs["retry_history"] == [0]
    # Run the retry (fail it again) until the cap stops the chain.
    for _ in range(heartbeat.MAX_RETRIES + 1):
        waiting = study.ask()
        study.tell(waiting, state=TrialState.FAIL)
        if not heartbeat.enqueue_retry(study, study.trials[waiting.number], "test"):
            break
    assert len(study.trials) == heartbeat.MAX_RETRIES + 1


def test_fail_stale_trials_fails_closes_the_runs_and_retries(tmp_path: Path) -> None:
    from cnnsearch.search import fail_stale_trials, open_study
    from cnnsearch.spec import validate_spec

    spec = validate_spec(
        {"study": {"name": "stale", "storage": str(tmp_path / "s.journal")}, "data": {"dataset": "digits"}}
    )
    study = open_study(spec)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = study.ask()
    dead.suggest_float("x", 0.0, 1.0)
    dead.set_user_attr(heartbeat.OWNER_ATTR, {"host": heartbeat.HOST, "pid": int(gone.stdout)})
    alive = study.ask()
    alive.set_user_attr(heartbeat.OWNER_ATTR, {"host": heartbeat.HOST, "pid": os.getpid()})
    alive.set_user_attr(heartbeat.BEAT_ATTR, time.time())
    tracking = FakeTracking()

    assert fail_stale_trials(study, spec, tracking) == [dead.number]
    failed = study.trials[dead.number]
    assert failed.state == TrialState.FAIL and "died during the trial" in failed.user_attrs["fail_reason"]
    assert tracking.calls == [("close_trial_runs", dead.number, failed.user_attrs["fail_reason"], "FAIL")]
    assert study.trials[alive.number].state == TrialState.RUNNING  # its worker is alive: left alone
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.params == failed.params and retry.user_attrs["retried_from"] == dead.number
    assert fail_stale_trials(study, spec, None) == []  # nothing stale any more; no tracking needed


@pytest.mark.parametrize("seed_of", [None, 7])
def test_a_final_trainings_retry_is_again_the_final_training(seed_of: int | None) -> None:
    """Its worker died: the retry keeps the final marks, so the next process runs it until the deadline.

    So does a training beside it (``study.final_others = "seeds"``): its retry is again one.
    """
    from cnnsearch._keys import FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FINAL_SEED_OF_ATTR
    from cnnsearch.search import _final as final

    marks = {FINAL_EPOCHS_ATTR: 30, FINAL_OF_ATTR: 0, **({FINAL_SEED_OF_ATTR: seed_of} if seed_of else {})}
    study = optuna.create_study()
    study.enqueue_trial({"x": 0.5}, user_attrs=marks)
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, state=TrialState.FAIL)
    assert heartbeat.enqueue_retry(study, study.trials[0], "worker died")
    retry = study.trials[1]
    assert {k: v for k, v in retry.user_attrs.items() if k in marks} == marks
    assert final.pending(study) and final.is_seed(retry) is (seed_of is not None)
