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
(user attribute ``retried_from``; Optuna's ``failed_trial``/``retry_history``
system attributes, as ``RetryFailedTrialCallback`` writes them), at most
:data:`MAX_RETRIES` times per original trial.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timezone
from typing import TYPE_CHECKING, Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from cnnsearch.spec import Spec

if TYPE_CHECKING:
    from cnnsearch.tracking import Tracker

#: Fail reason of a trial that Ctrl-C ended before its own cleanup could record one.
INTERRUPTED_UNTRACKED = "interrupted before the trial's run was tracked"

OWNER_ATTR = "cnnsearch_worker"
BEAT_ATTR = "cnnsearch_heartbeat"
RETRIED_FROM_ATTR = "retried_from"
#: Seconds between heartbeats, and silence after which a trial counts as abandoned.
INTERVAL_S = 10
GRACE_S = 60
MAX_RETRIES = 2

HOST = socket.gethostname()


class Heartbeat:
    """Marks a journal trial as owned by this process and keeps it fresh while it runs.

    Stopped before the objective returns, so it never writes to a finished trial.
    """

    def __init__(self, study: optuna.Study, trial_id: int, interval: float = INTERVAL_S) -> None:
        self.storage = study._storage
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
    if isinstance(owner, dict) and owner.get("host") == HOST and not _alive(int(owner.get("pid", 0))):
        return f"worker process {owner.get('pid')} on {HOST} died during the trial"
    last = float(beat) if beat is not None else _started(trial)
    if last is not None and now - last > grace:
        where = f"process {owner.get('pid')} on {owner.get('host')}" if isinstance(owner, dict) else "unknown worker"
        return f"no heartbeat from {where} for {now - last:.0f}s"
    return None


def _alive(pid: int) -> bool:
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


def fail_stale_trials(study: optuna.Study, spec: Spec, grace: float = GRACE_S) -> list[int]:
    """Fail abandoned RUNNING trials (journal: ours; RDB: Optuna's); return the numbers we failed."""
    if _uses_optuna_heartbeat(study):
        optuna.storages.fail_stale_trials(study)  # runs StaleTrialHandler on each
        return []
    failed = []
    now = time.time()
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = stale_reason(trial, now, grace)
        if reason is None:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
            if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker got there first: it closes the run and retries
        failed.append(trial.number)
        after_failure(study, spec, storage.get_trial(trial._trial_id), reason)
    return failed


def _uses_optuna_heartbeat(study: optuna.Study) -> bool:
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(study._storage)


class StaleTrialHandler:
    """``failed_trial_callback`` for RDB storages: close the MLflow run and retry the trial."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        after_failure(study, self.spec, trial, "no heartbeat from its worker (Optuna heartbeat)")


def after_failure(study: optuna.Study, spec: Spec, trial: FrozenTrial, reason: str) -> None:
    """Close the dead trial's MLflow runs as FAILED, then enqueue its retry."""
    try:
        close_runs(spec, trial, reason, "FAIL")
    finally:
        enqueue_retry(study, trial, reason)


def close_runs(spec: Spec, trial: FrozenTrial, reason: str, state: str) -> int:
    """Terminate every still-RUNNING MLflow run of this trial (also one whose id never reached
    Optuna, if the worker died right after creating it)."""
    from cnnsearch.tracking import STATE_TAG, STUDY_TAG, TRIAL_TAG, Tracker

    tracker = Tracker(spec)
    query = (
        f"tags.`{STUDY_TAG}` = '{spec.study.name}' and tags.`{TRIAL_TAG}` = '{trial.number}' "
        "and attributes.status = 'RUNNING'"
    )
    runs = tracker.client.search_runs([tracker.experiment_id], query, max_results=100)
    for run in runs:
        if run.data.tags.get(STATE_TAG, "RUNNING") == "RUNNING":
            tracker.end_trial(run.info.run_id, state, None, {"cnnsearch.fail_reason": reason})
    return len(runs)


def close_orphan_runs(study: optuna.Study, spec: Spec) -> int:
    """Close RUNNING trial runs whose Optuna trial has already ended.

    Ctrl-C can land between creating a trial's MLflow run and the objective's own
    ``finally``; Optuna then fails the trial, and nothing else would close its run.
    """
    from cnnsearch.tracking import KIND_TAG, RUN_STATUS, STATE_TAG, STUDY_TAG, TRIAL_TAG, Tracker

    tracker = Tracker(spec)
    query = f"tags.`{STUDY_TAG}` = '{spec.study.name}' and tags.`{KIND_TAG}` = 'trial' and attributes.status = 'RUNNING'"
    runs = tracker.client.search_runs([tracker.experiment_id], query, max_results=1000)
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    closed = 0
    for run in runs:
        number = int(run.data.tags.get(TRIAL_TAG, -1))
        state = states.get(number)
        if state is None or state == TrialState.RUNNING:
            continue
        tagged = run.data.tags.get(STATE_TAG, "RUNNING")
        if tagged != "RUNNING":  # interrupted while closing: its final state is already tagged
            tracker.client.set_terminated(run.info.run_id, status=RUN_STATUS.get(tagged, "KILLED"))
        else:
            tracker.end_trial(run.info.run_id, "KILLED", None, {"cnnsearch.fail_reason": INTERRUPTED_UNTRACKED})
        closed += 1
    return closed + track_runless_trials(study, spec, tracker)


def track_runless_trials(study: optuna.Study, spec: Spec, tracker: Tracker) -> int:
    """Give a closed run to every failed trial that died before its MLflow run was created.

    Ctrl-C or SIGKILL can land between Optuna creating the trial and the objective
    creating its run; without this the trial would be missing from MLflow.
    """
    from cnnsearch.study import REASON_ATTR, RUN_ID_ATTR
    from cnnsearch.tracking import KIND_TAG, PARENT_RUN_ATTR, STUDY_TAG, TRIAL_TAG

    runless = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)) if RUN_ID_ATTR not in t.user_attrs
    ]
    parent_run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if not runless or parent_run_id is None:
        return 0
    query = f"tags.`{STUDY_TAG}` = '{spec.study.name}' and tags.`{KIND_TAG}` = 'trial'"
    tracked = {
        run.data.tags.get(TRIAL_TAG)
        for run in tracker.client.search_runs([tracker.experiment_id], query, max_results=50000)
    }
    created = 0
    for trial in runless:
        if str(trial.number) in tracked:
            continue
        reason = trial.user_attrs.get(REASON_ATTR)  # set when a dead worker's trial was failed
        state = "FAIL" if reason else "KILLED"  # else Ctrl-C: Optuna failed it with no reason
        reason = reason or INTERRUPTED_UNTRACKED
        run_id = tracker.start_trial(parent_run_id, trial.number, trial.params)
        tracker.end_trial(run_id, state, None, {"cnnsearch.fail_reason": str(reason)})
        created += 1
    return created


def enqueue_retry(study: optuna.Study, trial: FrozenTrial, reason: str) -> bool:
    """A WAITING copy of the trial's params, picked up before any new trial; False past the cap."""
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
            user_attrs={RETRIED_FROM_ATTR: trial.number, "retry_reason": reason},
            system_attrs=system_attrs,
        )
    )
    return True
