"""Trials whose worker died: detect them, fail them, close their MLflow run, retry them.

Optuna's own heartbeat exists only for RDB storages, so:

- RDB (PostgreSQL, ...): Optuna's heartbeat (a table stamped with the database's
  clock); :class:`StaleTrialHandler` is its ``failed_trial_callback``.
- Journal file: each running trial records its owner (host, pid) and a heartbeat
  time in user attributes, refreshed by a thread while it trains. A RUNNING trial
  is stale when its owner's process is gone (same host) or its heartbeat is older
  than :data:`GRACE_S` (any host). :func:`fail_stale_trials` fails them.

Either way a stale trial ends FAIL with a reason, every MLflow run of it still
RUNNING is closed FAILED, and a WAITING retry with the same params is enqueued
(user attribute ``retried_from``, and a final training's marks; Optuna's ``failed_trial``/``retry_history``
system attributes, as ``RetryFailedTrialCallback`` writes them), at most
:data:`MAX_RETRIES` times per original trial.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timezone
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import (
    BEAT_ATTR,
    FAIL,
    FINAL_EPOCHS_ATTR,
    FINAL_OF_ATTR,
    FINAL_SEED_OF_ATTR,
    OWNER_ATTR,
    REASON_ATTR,
    RETRIED_FROM_ATTR,
    RETRY_REASON_ATTR,
)
from cnnsearch.search._internals import storage_of, trial_id, uses_optuna_heartbeat
from cnnsearch.search._protocols import StudyTracking
from cnnsearch.spec import Spec

#: Seconds between heartbeats, and silence after which a trial counts as abandoned.
INTERVAL_S = 10
GRACE_S = 60
MAX_RETRIES = 2
#: A final training's marks (and a training beside it's), which its retry keeps.
FINAL_MARKS = (FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FINAL_SEED_OF_ATTR)

HOST = socket.gethostname()


class Heartbeat:
    """Marks a journal trial as owned by this process and keeps it fresh while it runs.

    Stopped before the objective returns, so it never writes to a finished trial.
    """

    def __init__(self, study: optuna.Study, trial_id: int, interval: float = INTERVAL_S) -> None:
        self.storage = storage_of(study)
        self.trial_id = trial_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="cnnsearch-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.storage.set_trial_user_attr(self.trial_id, OWNER_ATTR, {"host": HOST, "pid": os.getpid()})
        self.storage.set_trial_user_attr(self.trial_id, BEAT_ATTR, time.time())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.storage.set_trial_user_attr(self.trial_id, BEAT_ATTR, time.time())
            except Exception:  # noqa: BLE001 - a missed beat is retried; the trial must not die of it
                continue


def stale_reason(trial: FrozenTrial, now: float | None = None, grace: float = GRACE_S) -> str | None:
    """Why this RUNNING journal trial is abandoned, or None while its worker is alive.

    Called under the study lock: a worker claims (owner attribute) each trial it
    creates before releasing that lock, so an unclaimed RUNNING trial seen here
    lost its worker between creating and claiming it.
    """
    now = time.time() if now is None else now
    owner = trial.user_attrs.get(OWNER_ATTR)
    beat = trial.user_attrs.get(BEAT_ATTR)
    if owner is None:
        return "its worker stopped before the trial began (unclaimed)"
    if isinstance(owner, dict) and owner.get("host") == HOST and not alive(int(owner.get("pid", 0))):
        return f"worker process {owner.get('pid')} on {HOST} died during the trial"
    last = float(beat) if beat is not None else _started(trial)
    if last is not None and now - last > grace:
        where = f"process {owner.get('pid')} on {owner.get('host')}" if isinstance(owner, dict) else "unknown worker"
        return f"no heartbeat from {where} for {now - last:.0f}s"
    return None


def alive(pid: int) -> bool:
    """Whether process ``pid`` on this machine still runs (a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers kill(0): read its state."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _started(trial: FrozenTrial) -> float | None:
    start = trial.datetime_start
    if start is None:
        return None
    if start.tzinfo is None:
        start = start.astimezone(timezone.utc)  # naive times are local
    return start.timestamp()


def fail_stale_trials(
    study: optuna.Study, spec: Spec, tracking: StudyTracking | None, grace: float = GRACE_S
) -> list[int]:
    """Fail abandoned RUNNING trials (journal: ours; RDB: Optuna's); return the numbers we failed.

    Call under the study lock. ``tracking`` closes their runs (None: no runs to close).
    """
    if uses_optuna_heartbeat(study):
        optuna.storages.fail_stale_trials(study)  # runs StaleTrialHandler on each
        return []
    failed = []
    now = time.time()
    storage = storage_of(study)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = stale_reason(trial, now, grace)
        if reason is None:
            continue
        number = trial_id(trial)
        try:
            storage.set_trial_user_attr(number, REASON_ATTR, reason)
            if not storage.set_trial_state_values(number, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker got there first: it closes the run and retries
        failed.append(trial.number)
        after_failure(study, spec, storage.get_trial(number), reason, tracking)
    return failed


class StaleTrialHandler:
    """``failed_trial_callback`` for RDB storages: close the MLflow run and retry the trial."""

    def __init__(self, spec: Spec, tracking: StudyTracking | None) -> None:
        self.spec = spec
        self.tracking = tracking

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        after_failure(study, self.spec, trial, "no heartbeat from its worker (Optuna heartbeat)", self.tracking)


def after_failure(
    study: optuna.Study, spec: Spec, trial: FrozenTrial, reason: str, tracking: StudyTracking | None
) -> None:
    """Close the dead trial's MLflow runs as FAILED, then enqueue its retry."""
    try:
        if tracking is not None:
            tracking.close_trial_runs(trial, reason, FAIL)
    finally:
        enqueue_retry(study, trial, reason)


def enqueue_retry(study: optuna.Study, trial: FrozenTrial, reason: str) -> bool:
    """A WAITING copy of the trial's params, picked up before any new trial; False past the cap.

    A final training's retry keeps its marks, so it is again the study's final training.
    """
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if not trial.params or len(history) > MAX_RETRIES:
        return False  # nothing sampled yet (a fresh trial replaces it), or retried enough
    system_attrs: dict[str, Any] = {
        **{k: v for k, v in trial.system_attrs.items() if k != "fixed_params"},
        "failed_trial": history[0],
        "retry_history": history,
    }
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={
                **{k: trial.user_attrs[k] for k in FINAL_MARKS if k in trial.user_attrs},
                RETRIED_FROM_ATTR: trial.number,
                RETRY_REASON_ATTR: reason,
            },
            system_attrs=system_attrs,
        )
    )
    return True
