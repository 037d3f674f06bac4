"""Abandoned-trial detection, and out-of-memory failure reasons, on real objects."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from cnnsearch import heartbeat
from cnnsearch.objective import describe


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
    assert "no heartbeat from process 1 on elsewhere" in heartbeat.stale_reason(silent, now)

    assert "unclaimed" in heartbeat.stale_reason(_running({}), now)


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


def test_out_of_memory_is_named_in_the_reason() -> None:
    import tensorflow as tf

    oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[4096,4096]")
    assert describe(oom) == "out of memory (ResourceExhaustedError): OOM when allocating tensor with shape[4096,4096]"
    assert describe(MemoryError("Unable to allocate 8.0 GiB")).startswith("out of memory (MemoryError)")


def test_run_left_running_by_an_early_ctrl_c_is_closed(tiny_spec_file) -> None:
    """Ctrl-C between creating a trial's run and the objective's cleanup: the run is closed KILLED."""
    from cnnsearch.spec import load_spec
    from cnnsearch.study import open_study
    from cnnsearch.tracking import Tracker

    spec = load_spec(tiny_spec_file())
    study = open_study(spec)
    tracker = Tracker(spec)
    parent = tracker.open_study_run(study, {})
    trial = study.ask()
    run_id = tracker.start_trial(parent, trial.number, {"blocks": 1})
    study.tell(trial, state=TrialState.FAIL)  # what Optuna does with the KeyboardInterrupt
    running = study.ask()  # a live trial's run must be left alone
    live_run = tracker.start_trial(parent, running.number, {"blocks": 2})

    assert heartbeat.close_orphan_runs(study, spec) == 1
    closed = tracker.client.get_run(run_id)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["cnnsearch.state"] == "KILLED"
    assert tracker.client.get_run(live_run).info.status == "RUNNING"
    assert heartbeat.close_orphan_runs(study, spec) == 0


def test_trial_failed_before_its_run_existed_gets_one(tiny_spec_file) -> None:
    """Ctrl-C (or SIGKILL) before the objective created the run: the trial still gets exactly one run."""
    from cnnsearch.spec import load_spec
    from cnnsearch.study import REASON_ATTR, open_study
    from cnnsearch.tracking import Tracker

    spec = load_spec(tiny_spec_file())
    study = open_study(spec)
    tracker = Tracker(spec)
    tracker.open_study_run(study, {})
    interrupted = study.ask()
    study.tell(interrupted, state=TrialState.FAIL)  # Ctrl-C while suggesting: no run yet
    crashed = study.ask()
    crashed.set_user_attr(REASON_ATTR, "worker died")
    study.tell(crashed, state=TrialState.FAIL)

    assert heartbeat.close_orphan_runs(study, spec) == 2
    runs = {r.data.tags["cnnsearch.trial"]: r for r in tracker.client.search_runs([tracker.experiment_id])
            if r.data.tags.get("cnnsearch.kind") == "trial"}
    assert runs[str(interrupted.number)].info.status == "KILLED"
    assert runs[str(crashed.number)].info.status == "FAILED"
    assert runs[str(crashed.number)].data.tags["cnnsearch.fail_reason"] == "worker died"
    assert heartbeat.close_orphan_runs(study, spec) == 0  # never a second run
