"""After a crash or Ctrl-C: make MLflow agree with the Optuna study again.

Three gaps can open when a worker dies or is interrupted at a bad moment:

- a dead trial's run is still RUNNING (:func:`close_trial_runs`);
- a run is still RUNNING although its trial has ended: Ctrl-C landed between
  creating the run and the objective's own ``finally`` (:func:`close_orphan_runs`);
- a failed trial has no run at all: it died between Optuna creating the trial and
  the objective creating its run (:func:`track_runless_trials`).
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import (
    FAIL,
    FAIL_REASON_TAG,
    INTERRUPTED_UNTRACKED,
    KILLED,
    KIND_TAG,
    PARENT_RUN_ATTR,
    REASON_ATTR,
    RUN_ID_ATTR,
    RUN_STATUS,
    RUNNING,
    STATE_TAG,
    STUDY_TAG,
    TRIAL_TAG,
)
from cnnsearch.tracking._client import Tracker


def close_trial_runs(tracker: Tracker, trial: FrozenTrial, reason: str, state: str) -> int:
    """Terminate every still-RUNNING MLflow run of this trial (also one whose id never reached
    Optuna, if the worker died right after creating it)."""
    query = (
        f"tags.`{STUDY_TAG}` = '{tracker.spec.study.name}' and tags.`{TRIAL_TAG}` = '{trial.number}' "
        "and attributes.status = 'RUNNING'"
    )
    runs = tracker.client.search_runs([tracker.experiment_id], query, max_results=100)
    for run in runs:
        if run.data.tags.get(STATE_TAG, RUNNING) == RUNNING:
            tracker.end_trial(run.info.run_id, state, None, {FAIL_REASON_TAG: reason})
    return len(runs)


def close_orphan_runs(tracker: Tracker, study: optuna.Study) -> int:
    """Close RUNNING trial runs whose Optuna trial has already ended; then :func:`track_runless_trials`.

    Ctrl-C can land between creating a trial's MLflow run and the objective's own
    ``finally``; Optuna then fails the trial, and nothing else would close its run.
    """
    name = tracker.spec.study.name
    query = f"tags.`{STUDY_TAG}` = '{name}' and tags.`{KIND_TAG}` = 'trial' and attributes.status = 'RUNNING'"
    runs = tracker.client.search_runs([tracker.experiment_id], query, max_results=1000)
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    closed = 0
    for run in runs:
        number = int(run.data.tags.get(TRIAL_TAG, -1))
        state = states.get(number)
        if state is None or state == TrialState.RUNNING:
            continue
        tagged = run.data.tags.get(STATE_TAG, RUNNING)
        if tagged != RUNNING:  # interrupted while closing: its final state is already tagged
            tracker.client.set_terminated(run.info.run_id, status=RUN_STATUS.get(tagged, "KILLED"))
        else:
            tracker.end_trial(run.info.run_id, KILLED, None, {FAIL_REASON_TAG: INTERRUPTED_UNTRACKED})
        closed += 1
    return closed + track_runless_trials(tracker, study)


def track_runless_trials(tracker: Tracker, study: optuna.Study) -> int:
    """Give a closed run to every failed trial that died before its MLflow run was created.

    Ctrl-C or SIGKILL can land between Optuna creating the trial and the objective
    creating its run; without this the trial would be missing from MLflow.
    """
    runless = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)) if RUN_ID_ATTR not in t.user_attrs
    ]
    parent_run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    if not runless or parent_run_id is None:
        return 0
    query = f"tags.`{STUDY_TAG}` = '{tracker.spec.study.name}' and tags.`{KIND_TAG}` = 'trial'"
    tracked = {
        run.data.tags.get(TRIAL_TAG)
        for run in tracker.client.search_runs([tracker.experiment_id], query, max_results=50000)
    }
    created = 0
    for trial in runless:
        if str(trial.number) in tracked:
            continue
        reason = trial.user_attrs.get(REASON_ATTR)  # set when a dead worker's trial was failed
        state = FAIL if reason else KILLED  # else Ctrl-C: Optuna failed it with no reason
        reason = reason or INTERRUPTED_UNTRACKED
        run_id = tracker.start_trial(parent_run_id, trial.number, trial.params)
        tracker.end_trial(run_id, state, None, {FAIL_REASON_TAG: str(reason)})
        created += 1
    return created
