"""The trial loop on real Optuna studies, with objectives that train nothing.

``failure_streak`` and ``failures_stop_message`` on trials added with ``create_trial``;
``run_trials`` on a journal study in tmp_path, in this process (``die_with_parent``
is never called here: it would tie the test process to its parent's life).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from cnnsearch._keys import OWNER_ATTR, REASON_ATTR
from cnnsearch.search import STOPPED, open_study, run_trials
from cnnsearch.search import _trial_loop as trial_loop
from cnnsearch.search._trial_loop import DONE, RECYCLE, TIMEOUT, deadline_of, failure_streak
from cnnsearch.spec import Spec, validate_spec

SINCE = 1_800_000_000.0  # a session start (Unix time)


def _spec(tmp_path: Path, **study: Any) -> Spec:
    study = {"name": "loop", "n_trials": 2, "storage": str(tmp_path / "loop.journal"), **study}
    return validate_spec({"study": study, "data": {"dataset": "digits"}})


def _add(study: optuna.Study, state: TrialState, ended_at: float, reason: str | None = None) -> None:
    """A trial that ended ``ended_at`` seconds after SINCE."""
    attrs = {REASON_ATTR: reason} if reason is not None else {}
    trial = create_trial(state=state, value=0.5 if state == TrialState.COMPLETE else None, user_attrs=attrs)
    trial.datetime_start = dt.datetime.fromtimestamp(SINCE + ended_at - 1)
    trial.datetime_complete = dt.datetime.fromtimestamp(SINCE + ended_at)
    study.add_trial(trial)


@pytest.fixture
def study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(direction="maximize")


def test_failure_streak_counts_failures_at_the_end(study: optuna.Study) -> None:
    _add(study, TrialState.COMPLETE, 10)
    _add(study, TrialState.FAIL, 20, "loss became NaN at epoch 0")
    _add(study, TrialState.FAIL, 30, "out of memory (MemoryError): 8 GiB")
    assert failure_streak(study, SINCE) == (2, "out of memory (MemoryError): 8 GiB")  # the latest reason
    _add(study, TrialState.PRUNED, 40)  # a pruned trial is not a failure: the streak ends
    assert failure_streak(study, SINCE) == (0, "")


def test_failure_streak_orders_by_completion_not_by_number(study: optuna.Study) -> None:
    _add(study, TrialState.FAIL, 30, "late")  # trial 0 ended last
    _add(study, TrialState.COMPLETE, 20)  # trial 1 ended before it
    _add(study, TrialState.FAIL, 10, "early")
    assert failure_streak(study, SINCE) == (1, "late")


def test_failure_streak_ignores_trials_before_the_session_and_unended_ones(study: optuna.Study) -> None:
    _add(study, TrialState.FAIL, -100, "an old crash")  # before this session began
    _add(study, TrialState.FAIL, -50, "another old one")
    assert failure_streak(study, SINCE) == (0, "")
    assert failure_streak(study, SINCE - 200) == (2, "another old one")
    study.add_trial(create_trial(state=TrialState.RUNNING))
    study.add_trial(create_trial(state=TrialState.WAITING))
    _add(study, TrialState.FAIL, 5)  # no recorded reason
    assert failure_streak(study, SINCE) == (1, "unknown error")


def test_failures_stop_message_names_the_limit_and_the_reason(tmp_path: Path) -> None:
    spec = _spec(tmp_path, max_consecutive_failures=4)
    assert trial_loop.failures_stop_message(spec, "val_auc is not a metric") == (
        "stopped after 4 failed trials in a row (study.max_consecutive_failures); last reason: val_auc is not a metric"
    )


def test_deadline_of_turns_the_timeout_into_a_monotonic_instant(tmp_path: Path) -> None:
    assert deadline_of(_spec(tmp_path), time.time()) is None  # no study.timeout
    spec = _spec(tmp_path, timeout="90s")
    since = time.time() - 30  # the session began 30 s ago: 60 s are left
    assert deadline_of(spec, since) == pytest.approx(time.monotonic() + 60, abs=1.0)
    past = deadline_of(spec, time.time() - 200)
    assert past is not None and past < time.monotonic()  # already past


def _objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def test_run_trials_stops_at_exactly_n_trials_and_claims_each(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = open_study(spec)
    assert run_trials(study, _objective, spec, time.time(), None) == DONE
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert {t.user_attrs[OWNER_ATTR]["pid"] for t in study.trials} == {os.getpid()}  # owned by this worker
    assert run_trials(study, _objective, spec, time.time(), None) == DONE  # nothing left: no third trial
    assert len(study.trials) == 2


def test_run_trials_recycles_after_max_trials_and_calls_after_trial(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = open_study(spec)
    seen: list[tuple[int, TrialState]] = []
    after = lambda study, trial: seen.append((trial.number, trial.state))  # noqa: E731
    assert run_trials(study, _objective, spec, time.time(), None, after, max_trials=1) == RECYCLE
    assert seen == [(0, TrialState.COMPLETE)]
    assert run_trials(study, _objective, spec, time.time(), None, after, max_trials=1) == RECYCLE  # the next worker
    assert run_trials(study, _objective, spec, time.time(), None, after, max_trials=1) == DONE  # nothing left
    assert seen == [(0, TrialState.COMPLETE), (1, TrialState.COMPLETE)]


def test_run_trials_stops_after_consecutive_failures(tmp_path: Path) -> None:
    spec = _spec(tmp_path, n_trials=5, max_consecutive_failures=2)
    study = open_study(spec)

    def broken(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        raise ValueError("broken on purpose")

    since = time.time()
    assert run_trials(study, broken, spec, since, None) == STOPPED
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]
    assert failure_streak(study, since) == (2, "unknown error")  # the objective recorded no reason


def test_run_trials_past_the_deadline_starts_nothing(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = open_study(spec)
    assert run_trials(study, _objective, spec, time.time(), None, deadline=time.monotonic() - 1) == TIMEOUT
    assert study.trials == []
