"""A search session, in process or in a worker: set-up, the after-trial hook, clean-up.

``cnnsearch run`` (in process), the supervisor of ``--workers N`` and each worker
process share these steps, so they behave alike:

1. :func:`open_session`: open (or resume) the study and, under the study lock, its
   parent run, the queued ``initial_params`` and the failing of trials a crash left
   RUNNING, so several workers or machines starting together do each once.
2. the trial loop (``_trial_loop.run_trials``), with :class:`AfterTrial` after each trial;
3. :func:`close_session`: the last plots, runs a Ctrl-C left open, the parent run's status.
"""

from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

from cnnsearch._keys import PARENT_RUN_ATTR
from cnnsearch.data import Splits
from cnnsearch.errors import CnnsearchError
from cnnsearch.search import _checkpoints as checkpoints
from cnnsearch.search import _faults as faults
from cnnsearch.search import _final as final
from cnnsearch.search import _heartbeat as heartbeat
from cnnsearch.search import _interrupt as interrupt
from cnnsearch.search import _trial_loop as trial_loop
from cnnsearch.search._locks import study_lock
from cnnsearch.search._objective import Objective
from cnnsearch.search._protocols import StudyDisplay, StudyPlots, Tracking
from cnnsearch.search._states import best_trial, score, trial_counts
from cnnsearch.search._study import enqueue_initial_params, open_study
from cnnsearch.spec import Spec, spec_to_toml


@dataclass
class Session:
    """An open study with its parent run; ``since`` (Unix time) starts the failure streak and timeout."""

    spec: Spec
    study: optuna.Study
    parent_run_id: str
    tracking: Tracking
    since: float

    @property
    def deadline(self) -> float | None:
        """``study.timeout`` after the session began, as a ``time.monotonic()`` instant."""
        return trial_loop.deadline_of(self.spec, self.since)


def spec_files(spec: Spec, spec_path: Path | None) -> dict[str, str]:
    """What the parent run keeps under ``spec/``: the resolved spec, and the file as written."""
    files = {"resolved.toml": spec_to_toml(spec)}
    if spec_path is not None:
        files[spec_path.name] = spec_path.read_text(encoding="utf-8")
    return files


def open_session(spec: Spec, tracking: Tracking, files: dict[str, str]) -> Session:
    """Open the study and its parent run, queue initial params, fail what a crash left RUNNING.

    First the weights folder must be writable: else every trial would train in full, then fail.
    """
    if spec.study.keep_top_k > 0:
        faults.check_writable(checkpoints.weights_dir(spec), "the weights of the best trials (study.keep_top_k)")
    study = open_study(spec, tracking=tracking)
    with study_lock(spec):  # several workers or machines may start at once: one parent run
        parent_run_id = tracking.open_study_run(study, files)
        enqueue_initial_params(study, spec)
        heartbeat.fail_stale_trials(study, spec, tracking)  # before the failure streak counts
    # The streak and the timeout count from here: old crashes are not this session's failures.
    return Session(spec, study, parent_run_id, tracking, since=time.time())


def close_session(session: Session, status: str, plots: StudyPlots | None) -> None:
    """Last plots (not after Ctrl-C: the next run redraws), orphan runs closed, the parent run's status."""
    try:
        if plots is not None and status != "KILLED":
            plots.finish(session.study)
        session.tracking.close_orphan_runs(session.study)  # a run Ctrl-C caught before its trial's own cleanup
    finally:
        session.tracking.close_study_run(session.parent_run_id, status)


class AfterTrial:
    """The hook after every finished trial: study progress to the parent run, the display, the plots."""

    def __init__(
        self,
        tracking: Tracking,
        parent_run_id: str,
        display: StudyDisplay | None = None,
        plots: StudyPlots | None = None,
    ) -> None:
        self.tracking = tracking
        self.parent_run_id = parent_run_id
        self.display = display
        self.plots = plots

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        best = best_trial(study)
        counts = trial_counts(study).by_name()
        self.tracking.log_study_progress(self.parent_run_id, trial.number, score(best) if best else None, counts)
        if self.display is not None:
            self.display.trial_finished(study, trial)
        if self.plots is not None:
            self.plots.trial_finished(study)  # redraws when the refresh policy says it is due


def run(
    spec: Spec,
    splits: Splits,
    tracking: Tracking,
    spec_path: Path | None = None,
    display: StudyDisplay | None = None,
) -> optuna.Study:
    """Run (or resume) the study in this process until ``n_trials`` trials are complete or pruned.

    The caller loads the data first, so a bad dataset fails before the study opens.
    Ctrl-C propagates as KeyboardInterrupt after the running trial and the MLflow runs
    have been closed; running again resumes.
    """
    session = open_session(spec, tracking, spec_files(spec, spec_path))
    study = session.study
    if display is not None:
        display.study_opened(study)
    objective = Objective(spec, splits, tracking, session.parent_run_id, display)
    plots = tracking.study_plots(session.parent_run_id)
    after_trial = AfterTrial(tracking, session.parent_run_id, display, plots)
    status = "KILLED"
    try:
        # One trial at a time, counted under the study lock: exact n_trials with other workers.
        explore_until = final.exploration_deadline(spec, session.deadline)
        if spec.study.final_share and explore_until is not None:
            objective.explore_deadline = explore_until
        why = trial_loop.run_trials(
            study, objective, spec, session.since, tracking, after_trial, deadline=explore_until
        )
        if why in (trial_loop.DONE, trial_loop.TIMEOUT) and session.deadline is not None and spec.study.final_share:
            why = _final_training(session, objective, after_trial, display) or why
        if why == trial_loop.STOPPED:
            status = "FAILED"
            raise CnnsearchError(
                trial_loop.failures_stop_message(spec, trial_loop.failure_streak(study, session.since)[1])
            )
        status = "FINISHED"
    except BaseException as exc:
        if isinstance(exc, faults.InfrastructureFault):
            status = "FAILED"
        # A second error while closing (the same full disk, say) must not hide the first.
        with contextlib.suppress(Exception):
            close_session(session, status, plots)
        raise
    close_session(session, status, plots)
    return study


def _final_training(
    session: Session, objective: Objective, after_trial: AfterTrial, display: StudyDisplay | None
) -> str | None:
    """``study.final_share``: train the best params once more for the time left; None if not planned."""
    spec, study, deadline = session.spec, session.study, session.deadline
    assert deadline is not None
    with study_lock(spec):
        planned = final.plan(study, spec, deadline - time.monotonic())
        if planned is not None:
            final.enqueue(study, *planned)
    if planned is None and not final.pending(study):
        return None
    if display is not None and planned is not None:
        display.say(f"final training: trial {planned[0].number}'s params for {planned[1]} epochs (study.final_share)")
    objective.deadline = deadline
    # As many more trials as are queued: the trial loop's count (and its lock, ownership and
    # fault handling) then runs exactly those. Optuna starts the oldest queued trial first, so
    # neighbours the exploration had no time for come before the final training; each ends
    # PRUNED at once, unstarted (Objective._exploration_over).
    counts = trial_counts(study)
    queued = counts.finished + counts.waiting
    once = spec.model_copy(update={"study": spec.study.model_copy(update={"n_trials": queued})})
    return trial_loop.run_trials(study, objective, once, session.since, session.tracking, after_trial)


def serve(spec: Spec, splits: Splits, tracking: Tracking, slot: int, since: float, max_trials: int | None) -> str:
    """Body of one worker process of ``cnnsearch run --workers N``: join the study, run trials.

    The supervisor created the study and its MLflow parent run; this process only
    joins them. SIGTERM (also sent if the supervisor dies) ends the running trial
    the way Ctrl-C does: FAIL in Optuna, KILLED in MLflow. Returns why it stopped.
    """
    study = open_study(spec, worker=slot, tracking=tracking)
    parent_run_id = study.user_attrs[PARENT_RUN_ATTR]
    objective = Objective(spec, splits, tracking, parent_run_id)
    after_trial = AfterTrial(tracking, parent_run_id)
    deadline = trial_loop.deadline_of(spec, since)
    return trial_loop.run_trials(study, objective, spec, since, tracking, after_trial, max_trials, deadline)


def prepare_worker_process() -> None:
    """A worker process: SIGTERM acts like Ctrl-C, and the process ends with its supervisor."""
    trial_loop.die_with_parent()
    signal.signal(signal.SIGTERM, interrupt.now)
