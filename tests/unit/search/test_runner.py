"""A search session's steps in process: the after-trial hook, opening and closing a session.

Real Optuna studies; a small fake stands in for the tracking (the ``search.Tracking``
protocol), so no MLflow store is needed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from cnnsearch._keys import INITIAL_ATTR
from cnnsearch.search import AfterTrial, Session
from cnnsearch.search._runner import close_session, open_session, spec_files
from cnnsearch.search._trial_loop import deadline_of
from cnnsearch.spec import Spec, validate_spec
from tests.helpers import FakeTracking, Recorder


def _spec(tmp_path: Path, **study: Any) -> Spec:
    study = {"name": "session", "n_trials": 4, "storage": str(tmp_path / "session.journal"), **study}
    return validate_spec({"study": study, "data": {"dataset": "digits"}})


def _study(*values: float | None) -> optuna.Study:
    """An in-memory study (maximize) with a complete trial per value; None adds a failed trial."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize")
    for value in values:
        state = TrialState.COMPLETE if value is not None else TrialState.FAIL
        study.add_trial(create_trial(state=state, value=value))
    return study


def test_after_trial_logs_progress_with_the_counts_and_tells_display_and_plots() -> None:
    study = _study(0.4, 0.7, None)
    tracking, display, plots = FakeTracking(), Recorder(), Recorder()
    hook = AfterTrial(tracking, "parent-1", display, plots)
    hook(study, study.trials[2])
    assert tracking.calls == [("log_study_progress", "parent-1", 2, 0.7, {"COMPLETE": 2, "FAIL": 1})]
    assert display.calls == [("trial_finished", 2)]
    assert plots.calls == [("trial_finished", None)]


def test_after_trial_without_a_complete_trial_logs_no_best() -> None:
    study = _study(None)
    tracking = FakeTracking()
    AfterTrial(tracking, "parent-9")(study, study.trials[0])  # no display, no plots: a worker process
    assert tracking.calls == [("log_study_progress", "parent-9", 0, None, {"FAIL": 1})]


def test_spec_files_keep_the_resolved_spec_and_the_file_as_written(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    written = tmp_path / "mine.toml"
    written.write_text("# as the user wrote it\n")
    files = spec_files(spec, written)
    assert sorted(files) == ["mine.toml", "resolved.toml"]
    assert files["mine.toml"] == "# as the user wrote it\n"
    assert 'name = "session"' in files["resolved.toml"]
    assert sorted(spec_files(spec, None)) == ["resolved.toml"]


def test_open_session_opens_the_parent_run_once_and_queues_initial_params(tmp_path: Path) -> None:
    spec = validate_spec(
        {
            "study": {"name": "session", "storage": str(tmp_path / "s.journal"), "initial_params": {"filters": 16}},
            "data": {"dataset": "digits"},
            "model": {"filters": {"choices": [8, 16]}},
        }
    )
    tracking = FakeTracking()
    before = time.time()
    session = open_session(spec, tracking, {"resolved.toml": "..."})
    assert isinstance(session, Session) and session.parent_run_id == "parent-1"
    assert tracking.calls == [("open_study_run", "session", ["resolved.toml"])]
    assert before <= session.since <= time.time()
    waiting = session.study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs[INITIAL_ATTR] is True
    again = open_session(spec, FakeTracking(), {})  # resumed: the initial params are not queued twice
    assert len(again.study.trials) == 1
    assert session.deadline is None  # no study.timeout


def test_a_sessions_deadline_is_study_timeout_after_it_began(tmp_path: Path) -> None:
    spec = _spec(tmp_path, timeout=60)
    session = Session(spec, _study(), "parent-1", FakeTracking(), since=time.time() - 15)
    assert session.deadline == pytest.approx(time.monotonic() + 45, abs=1.0)
    assert session.deadline == pytest.approx(deadline_of(spec, session.since), abs=1e-3)


@pytest.mark.parametrize("status", ["FINISHED", "FAILED"])
def test_close_session_draws_last_plots_closes_orphans_then_the_parent_run(tmp_path: Path, status: str) -> None:
    tracking, plots = FakeTracking(), Recorder()
    session = Session(_spec(tmp_path), _study(0.5), "parent-1", tracking, since=time.time())
    close_session(session, status, plots)
    assert plots.calls == [("finish",)]
    assert tracking.calls == [("close_orphan_runs", session.study.study_name), ("close_study_run", "parent-1", status)]


def test_close_session_after_ctrl_c_skips_the_plots_and_always_closes_the_parent(tmp_path: Path) -> None:
    tracking, plots = FakeTracking(), Recorder()
    session = Session(_spec(tmp_path), _study(0.5), "parent-1", tracking, since=time.time())
    close_session(session, "KILLED", plots)  # the next run redraws
    assert plots.calls == []
    assert tracking.calls[-1] == ("close_study_run", "parent-1", "KILLED")

    failing = Recorder(fail_on="finish")
    tracking = FakeTracking()
    session = Session(_spec(tmp_path), _study(0.5), "parent-2", tracking, since=time.time())
    with pytest.raises(RuntimeError, match="finish failed"):
        close_session(session, "FINISHED", failing)
    assert tracking.calls == [("close_study_run", "parent-2", "FINISHED")]  # closed although plotting raised


def test_open_session_stops_before_anything_when_the_weights_folder_cannot_be_written(workdir: Path) -> None:
    from cnnsearch.search._faults import InfrastructureFault

    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "weights").write_text("")  # a file in place of the folder (refuses root too)
    spec = _spec(workdir)
    tracking = FakeTracking()
    with pytest.raises(InfrastructureFault) as error:
        open_session(spec, tracking, {})
    assert str(error.value) == (
        "mlruns/weights/session: cannot write the weights of the best trials (study.keep_top_k): "
        "Not a directory (ENOTDIR): mlruns/weights"
    )
    assert tracking.calls == [] and not (workdir / "session.journal").exists()  # no study, no parent run
    open_session(_spec(workdir, keep_top_k=0), tracking, {})  # keeping no weights: nothing to write there
