"""The trial loop every worker runs: one trial at a time, until the study has ``n_trials``.

Before each trial, under the study lock (``_locks.py``), a worker fails
abandoned trials (``_heartbeat.py``) and counts: it starts a trial only
while ``finished + running < n_trials``, and the new trial is RUNNING (and owned)
before the lock is released. So N workers, on one machine or many, finish
exactly ``n_trials`` complete-or-pruned trials: no overshoot. A worker that finds
the remaining trials already running waits, because one of them may still fail.

The same loop runs in ``cnnsearch run`` (in process) and in each worker process
of ``cnnsearch run --workers N`` (``_runner.serve``), where a worker also retires after
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

from cnnsearch._keys import OWNER_ATTR, REASON_ATTR
from cnnsearch.search import _faults as faults
from cnnsearch.search import _heartbeat as heartbeat
from cnnsearch.search import _interrupt as interrupt
from cnnsearch.search._internals import trial_id, uses_optuna_heartbeat
from cnnsearch.search._locks import study_lock
from cnnsearch.search._protocols import StudyTracking
from cnnsearch.search._states import ENDED, trial_counts
from cnnsearch.spec import Spec

#: Seconds a worker waits before looking again when the last trials are all running.
POLL_S = 2.0

DONE, RECYCLE, STOPPED, TIMEOUT = "done", "recycle", "stopped", "timeout"


class _Owned:
    """Wraps the objective: claim the new trial (owner + heartbeat), then open the start gate."""

    def __init__(
        self, objective: Callable[[optuna.Trial], float | list[float]], gate: contextlib.ExitStack, own: bool
    ) -> None:
        self.objective = objective
        self.gate = gate
        self.own = own
        #: The trial's number and what failed, when it failed of a fault of the machine (``_faults.py``).
        self.number: int | None = None
        self.fault: str | None = None

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        self.number = trial.number
        try:
            if self.own:
                beat: contextlib.AbstractContextManager[Any] = heartbeat.Heartbeat(trial.study, trial_id(trial))
            else:  # Optuna's RDB heartbeat is already beating; record the owner for people only
                trial.set_user_attr(OWNER_ATTR, {"host": heartbeat.HOST, "pid": os.getpid()})
                beat = contextlib.nullcontext()
            with beat:
                self.gate.close()  # the trial is RUNNING and owned: other workers may count it now
                return self.objective(trial)
        except Exception as exc:
            self.fault = faults.infrastructure_fault(exc)  # Optuna still fails the trial; the loop then stops
            raise


def failure_streak(study: optuna.Study, since: float) -> tuple[int, str]:
    """Failed trials in a row at the end of the study, among those finished after ``since``."""
    ended = [
        t
        for t in study.get_trials(deepcopy=False, states=ENDED)
        if t.datetime_complete is not None and t.datetime_complete.timestamp() >= since
    ]
    ended.sort(key=lambda t: (t.datetime_complete.timestamp(), t.number))  # type: ignore[union-attr]
    streak, reason = 0, ""
    for trial in reversed(ended):
        if trial.state != TrialState.FAIL:
            break
        streak += 1
        reason = reason or str(trial.user_attrs.get(REASON_ATTR, "unknown error"))
    return streak, reason


def failures_stop_message(spec: Spec, reason: str) -> str:
    """Why the study stopped: ``max_consecutive_failures`` trials failed in a row, the last for ``reason``."""
    limit = spec.study.max_consecutive_failures
    return f"stopped after {limit} failed trials in a row (study.max_consecutive_failures); last reason: {reason}"


AfterTrial = Callable[[optuna.Study, FrozenTrial], None]


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | list[float]],
    spec: Spec,
    since: float,
    tracking: StudyTracking | None,
    after_trial: AfterTrial | None = None,
    max_trials: int | None = None,
    deadline: float | None = None,
) -> str:
    """Run trials until the study is done; return why this worker stopped (DONE, RECYCLE, ...).

    ``since`` (Unix time) starts the failure streak; ``deadline`` is a ``time.monotonic()``
    instant (:func:`deadline_of`); ``tracking`` closes the runs of abandoned trials.
    """
    with interrupt.deferred():  # Ctrl-C and SIGTERM stop at a safe point: between trials or batches
        return _trial_loop(study, objective, spec, since, tracking, after_trial, max_trials, deadline)


def deadline_of(spec: Spec, since: float) -> float | None:
    """The ``time.monotonic()`` instant ``study.timeout`` seconds after ``since`` (Unix time), or None."""
    if not spec.study.timeout:
        return None
    return since + spec.study.timeout - time.time() + time.monotonic()


def _trial_loop(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | list[float]],
    spec: Spec,
    since: float,
    tracking: StudyTracking | None,
    after_trial: AfterTrial | None,
    max_trials: int | None,
    deadline: float | None,
) -> str:
    own = not uses_optuna_heartbeat(study)
    callbacks = [after_trial] if after_trial is not None else []
    ran = 0
    while True:
        interrupt.check()
        if max_trials is not None and ran >= max_trials:
            return RECYCLE
        if deadline is not None and time.monotonic() >= deadline:
            return TIMEOUT
        owned = None
        try:
            with contextlib.ExitStack() as gate:
                gate.enter_context(study_lock(spec))
                heartbeat.fail_stale_trials(study, spec, tracking)
                if failure_streak(study, since)[0] >= spec.study.max_consecutive_failures:
                    return STOPPED
                counts = trial_counts(study)
                if counts.finished >= spec.study.n_trials:
                    return DONE
                start = counts.finished + counts.running < spec.study.n_trials
                if start:
                    # The gate (the lock) is released inside, once the new trial is RUNNING and owned.
                    owned = _Owned(objective, gate, own)
                    study.optimize(owned, n_trials=1, catch=(Exception,), callbacks=callbacks)
                    ran += 1
        except faults.InfrastructureFault:
            raise
        except Exception as exc:  # the storage itself failed (a full disk, a lost database)
            fault = faults.infrastructure_fault(exc)
            if fault is None:
                raise
            raise faults.InfrastructureFault(
                faults.fault_stop_message(owned.number if owned else None, fault)
            ) from None
        if owned is not None and owned.fault is not None:
            raise faults.InfrastructureFault(faults.fault_stop_message(owned.number, owned.fault))
        if not start:
            time.sleep(POLL_S)
            continue
        gc.collect()  # what Optuna's gc_after_trial does


def die_with_parent() -> None:
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
