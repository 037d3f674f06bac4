"""The trial loop every worker runs: one trial at a time, until the study has ``n_trials``.

Before each trial, under the study lock (:mod:`cnnsearch.locks`), a worker fails
abandoned trials (:mod:`cnnsearch.heartbeat`) and counts: it starts a trial only
while ``finished + running < n_trials``, and the new trial is RUNNING (and owned)
before the lock is released. So N workers, on one machine or many, finish
exactly ``n_trials`` complete-or-pruned trials: no overshoot. A worker that finds
the remaining trials already running waits, because one of them may still fail.

The same loop runs in ``cnnsearch run`` (in process) and in each worker process
of ``cnnsearch run --workers N`` (``serve``), where a worker also retires after
``study.trials_per_worker`` trials so that its memory is returned.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch import heartbeat, interrupt
from cnnsearch.locks import study_lock
from cnnsearch.spec import Spec

#: Seconds a worker waits before looking again when the last trials are all running.
POLL_S = 2.0

DONE, RECYCLE, STOPPED, TIMEOUT = "done", "recycle", "stopped", "timeout"


class _Owned:
    """Wraps the objective: claim the new trial (owner + heartbeat), then open the start gate."""

    def __init__(self, objective: Callable[[optuna.Trial], float], gate: contextlib.ExitStack, own: bool) -> None:
        self.objective = objective
        self.gate = gate
        self.own = own

    def __call__(self, trial: optuna.Trial) -> float:
        if self.own:
            beat: contextlib.AbstractContextManager[Any] = heartbeat.Heartbeat(trial.study, trial._trial_id)
        else:  # Optuna's RDB heartbeat is already beating; record the owner for people only
            trial.set_user_attr(heartbeat.OWNER_ATTR, {"host": heartbeat.HOST, "pid": os.getpid()})
            beat = contextlib.nullcontext()
        with beat:
            self.gate.close()  # the trial is RUNNING and owned: other workers may count it now
            return self.objective(trial)


def failure_streak(study: optuna.Study, since: float) -> tuple[int, str]:
    """Failed trials in a row at the end of the study, among those finished after ``since``."""
    ended = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
        if t.datetime_complete is not None and t.datetime_complete.timestamp() >= since
    ]
    ended.sort(key=lambda t: (t.datetime_complete.timestamp(), t.number))  # type: ignore[union-attr]
    streak, reason = 0, ""
    for trial in reversed(ended):
        if trial.state != TrialState.FAIL:
            break
        streak += 1
        reason = reason or str(trial.user_attrs.get("fail_reason", "unknown error"))
    return streak, reason


def stop_message(spec: Spec, reason: str) -> str:
    limit = spec.study.max_consecutive_failures
    return f"stopped after {limit} failed trials in a row (study.max_consecutive_failures); last reason: {reason}"


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    spec: Spec,
    since: float,
    after_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    max_trials: int | None = None,
    deadline: float | None = None,
) -> str:
    """Run trials until the study is done; return why this worker stopped (DONE, RECYCLE, ...)."""
    with interrupt.deferred():  # Ctrl-C and SIGTERM stop at a safe point: between trials or batches
        return _trial_loop(study, objective, spec, since, after_trial, max_trials, deadline)


def _trial_loop(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    spec: Spec,
    since: float,
    after_trial: Callable[[optuna.Study, FrozenTrial], None] | None,
    max_trials: int | None,
    deadline: float | None,
) -> str:
    own = not heartbeat._uses_optuna_heartbeat(study)
    callbacks = [after_trial] if after_trial is not None else []
    ran = 0
    while True:
        interrupt.check()
        if max_trials is not None and ran >= max_trials:
            return RECYCLE
        if deadline is not None and time.monotonic() >= deadline:
            return TIMEOUT
        with contextlib.ExitStack() as gate:
            gate.enter_context(study_lock(spec))
            heartbeat.fail_stale_trials(study, spec)
            if failure_streak(study, since)[0] >= spec.study.max_consecutive_failures:
                return STOPPED
            counts = _counts(study)
            finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
            if finished >= spec.study.n_trials:
                return DONE
            start = finished + counts[TrialState.RUNNING] < spec.study.n_trials
            if start:
                # The gate (the lock) is released inside, once the new trial is RUNNING and owned.
                study.optimize(_Owned(objective, gate, own), n_trials=1, catch=(Exception,), callbacks=callbacks)
                ran += 1
        if not start:
            time.sleep(POLL_S)
            continue
        gc.collect()  # what Optuna's gc_after_trial does


def _counts(study: optuna.Study) -> dict[TrialState, int]:
    counts = dict.fromkeys(TrialState, 0)
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state] += 1
    return counts


# --- a worker process of `cnnsearch run --workers N` ------------------------------------


def serve(spec: Spec, slot: int, since: float, max_trials: int | None) -> str:
    """Body of one worker process: the data and objective, then the trial loop.

    The supervisor created the study and its MLflow parent run; this process only
    joins them. SIGTERM (also sent if the supervisor dies) ends the running trial
    the way Ctrl-C does: FAIL in Optuna, KILLED in MLflow.
    """
    from cnnsearch import data
    from cnnsearch.objective import Objective
    from cnnsearch.study import best_trial, count_states, open_study
    from cnnsearch.tracking import PARENT_RUN_ATTR, Tracker

    _die_with_parent()
    signal.signal(signal.SIGTERM, interrupt.now)
    splits = data.load(spec.data, seed=spec.study.seed)
    study = open_study(spec, worker=slot)
    tracker = Tracker(spec)
    parent_run_id = study.user_attrs[PARENT_RUN_ATTR]
    objective = Objective(spec, splits, tracker, parent_run_id)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        best = best_trial(study)
        tracker.log_study_progress(parent_run_id, trial.number, best.value if best else None, count_states(study))

    deadline = since - time.time() + time.monotonic() + spec.study.timeout if spec.study.timeout else None
    return run_trials(study, objective, spec, since, after_trial, max_trials, deadline)


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the supervisor dies, even by SIGKILL, instead of running on orphaned."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:
        raise KeyboardInterrupt  # the supervisor is already gone
