"""MLflow made to agree with the study after a Ctrl-C or a crash: real runs in a local MLflow store.

Through ``SearchTracking.close_orphan_runs`` (``cnnsearch.reporting``), which the search
calls; the work is ``cnnsearch.tracking.close_orphan_runs``.
"""

from __future__ import annotations

from pathlib import Path

from optuna.trial import TrialState

from tests.helpers import SpecFile


def test_run_left_running_by_an_early_ctrl_c_is_closed(mlflow_store: Path, tiny_spec_file: SpecFile) -> None:
    """Ctrl-C between creating a trial's run and the objective's cleanup: the run is closed KILLED."""
    from cnnsearch.reporting import SearchTracking
    from cnnsearch.search import open_study
    from cnnsearch.spec import load_spec
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

    assert SearchTracking(spec).close_orphan_runs(study) == 1
    closed = tracker.client.get_run(run_id)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["cnnsearch.state"] == "KILLED"
    assert tracker.client.get_run(live_run).info.status == "RUNNING"
    assert SearchTracking(spec).close_orphan_runs(study) == 0


def test_trial_failed_before_its_run_existed_gets_one(mlflow_store: Path, tiny_spec_file: SpecFile) -> None:
    """Ctrl-C (or SIGKILL) before the objective created the run: the trial still gets exactly one run."""
    from cnnsearch._keys import REASON_ATTR
    from cnnsearch.reporting import SearchTracking
    from cnnsearch.search import open_study
    from cnnsearch.spec import load_spec
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

    assert SearchTracking(spec).close_orphan_runs(study) == 2
    runs = {
        r.data.tags["cnnsearch.trial"]: r
        for r in tracker.client.search_runs([tracker.experiment_id])
        if r.data.tags.get("cnnsearch.kind") == "trial"
    }
    assert runs[str(interrupted.number)].info.status == "KILLED"
    assert runs[str(crashed.number)].info.status == "FAILED"
    assert runs[str(crashed.number)].data.tags["cnnsearch.fail_reason"] == "worker died"
    assert SearchTracking(spec).close_orphan_runs(study) == 0  # never a second run
