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
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import PARENT_RUN_ATTR
from cnnsearch.data import Splits
from cnnsearch.errors import CnnsearchError
from cnnsearch.search import _checkpoints as checkpoints
from cnnsearch.search import _clock as clock
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
        # The streak and the timeout count from the study's clock: this session's start, or the
        # start of the one still running that it joins (a late machine; _clock.py).
        since = clock.start_or_join(study, spec)
    return Session(spec, study, parent_run_id, tracking, since=since)


def close_session(session: Session, status: str, plots: StudyPlots | None) -> None:
    """Last plots (not after Ctrl-C: the next run redraws), orphan runs closed, the parent run's status."""
    try:
        if plots is not None and status != "KILLED":
            plots.finish(session.study)
        session.tracking.close_orphan_runs(session.study)  # a run Ctrl-C caught before its trial's own cleanup
        used = clock.budget_used(session.study, session.spec, session.since)
        if used is not None:  # how much of study.timeout went to trials, beside the study's progress
            session.tracking.log_metrics(
                session.parent_run_id, 0, {"budget_used_s": used.used_s, "budget_used_share": round(used.share, 4)}
            )
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
        why = explore_then_final(session, objective, after_trial, display)
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


def explore_then_final(
    session: Session,
    objective: Objective,
    after_trial: AfterTrial,
    display: StudyDisplay | None = None,
    max_trials: int | None = None,
) -> str:
    """The trial loop up to the exploration deadline, then the study's one final training.

    The same in ``cnnsearch run``'s own process and in every worker process, on any machine:
    all read the study's clock, so all stop exploring at the same instant.
    """
    spec, study = session.spec, session.study
    explore_until = final.exploration_deadline(spec, session.deadline)
    if spec.study.final_share and explore_until is not None:
        objective.explore_deadline = explore_until
        # Only a final training reads it: a retried one that Optuna starts first (before
        # exploring: queued trials go first) still ends at the deadline, its rate on the clock.
        objective.deadline = session.deadline
    why = trial_loop.run_trials(
        study, objective, spec, session.since, session.tracking, after_trial, max_trials, explore_until
    )
    if session.deadline is None or not spec.study.final_share:
        return why
    while why == trial_loop.TIMEOUT and not _any_complete(study) and time.monotonic() < session.deadline:
        # No winner yet (a slow start: worker processes loading TensorFlow on a busy machine): the
        # final training needs one, so this worker explores on, one trial at a time, until there is.
        one = trial_loop.run_trials(
            study, objective, spec, session.since, session.tracking, after_trial, 1, session.deadline
        )
        why = trial_loop.TIMEOUT if one == trial_loop.RECYCLE else one
    # A worker recycled on its last exploring trial still owes the study its final phase.
    over = explore_until is not None and time.monotonic() >= explore_until
    if why in (trial_loop.DONE, trial_loop.TIMEOUT) or (why == trial_loop.RECYCLE and over):
        why = _final_training(session, objective, after_trial, display) or why
    return why


def _any_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _final_training(
    session: Session, objective: Objective, after_trial: AfterTrial, display: StudyDisplay | None
) -> str | None:
    """``study.final_share``: train the best params once more for the time left; None if not for us.

    Under the study lock, the first process to get here queues the final training (exactly
    once per study); a process that finds it queued runs it, one that finds it running
    elsewhere stops (leaving the machine to it), or, with ``study.final_others = "seeds"``, queues
    and runs the same params with another seed beside it. A final training whose worker died is
    failed here and its retry (same params, same marks) queued, so the next process runs it.
    """
    spec, study, deadline = session.spec, session.study, session.deadline
    assert deadline is not None
    with study_lock(spec):
        heartbeat.fail_stale_trials(study, spec, session.tracking)  # a dead final training: retried
        planned = final.plan(study, spec, deadline - time.monotonic())
        beside = None
        if planned is not None:
            final.enqueue(study, *planned)
        else:  # study.final_others = "seeds": the same params with another seed, shipped together
            beside = final.plan_seed(study, spec, deadline - time.monotonic())
            if beside is not None:
                final.enqueue_seed(study, beside)
    # On PostgreSQL a dead worker's final training is failed (and retried) only after Optuna's
    # heartbeat grace: a process on its machine waits for the retry instead of stopping.
    orphan = planned is None and final.orphaned_here(study)
    if planned is None and not final.pending(study) and not orphan:
        return None
    if display is not None and planned is not None:
        display.say(
            f"final training: trial {planned[0].number}'s params until the deadline, about {planned[1]} epochs "
            "at its measured speed (study.final_share)"
        )
    if display is not None and beside is not None:
        display.say(
            f"beside the final training (trial {beside.primary}): trial {beside.winner.number}'s params with "
            'another seed until the deadline (study.final_others = "seeds")'
        )
    objective.deadline = deadline
    # As many more trials as are queued: the trial loop's count (and its lock, ownership and
    # fault handling) then runs exactly those. Optuna starts the oldest queued trial first, so
    # neighbours the exploration had no time for come before the final training; each ends
    # PRUNED at once, unstarted (Objective._exploration_over). A process that finds them all
    # started by others returns instead of waiting: the final training needs one process. The
    # count includes the trials running elsewhere (a straggler, or the final training beside which
    # this process queued a seed), and is taken again while a final-marked trial waits: another
    # process may have started the one this process queued, leaving it the other.
    while True:
        counts = trial_counts(study)
        queued = counts.finished + counts.running + counts.waiting
        once = spec.model_copy(update={"study": spec.study.model_copy(update={"n_trials": queued})})
        why = trial_loop.run_trials(
            study, objective, once, session.since, session.tracking, after_trial, deadline=deadline, wait=orphan
        )
        if why != trial_loop.DONE or not final.pending(study):
            return why


def serve(spec: Spec, splits: Splits, tracking: Tracking, slot: int, since: float, max_trials: int | None) -> str:
    """Body of one worker process of ``cnnsearch run --workers N``: join the study, run trials.

    The supervisor created the study and its MLflow parent run; this process only
    joins them, with its clock (``since``): exploring stops at the study's exploration
    deadline and the final training runs in exactly one worker (:func:`explore_then_final`).
    SIGTERM (also sent if the supervisor dies) ends the running trial the way Ctrl-C
    does: FAIL in Optuna, KILLED in MLflow. Returns why it stopped.
    """
    study = open_study(spec, worker=slot, tracking=tracking)
    parent_run_id = study.user_attrs[PARENT_RUN_ATTR]
    objective = Objective(spec, splits, tracking, parent_run_id)
    after_trial = AfterTrial(tracking, parent_run_id)
    session = Session(spec, study, parent_run_id, tracking, since)
    return explore_then_final(session, objective, after_trial, max_trials=max_trials)


def prepare_worker_process() -> None:
    """A worker process: SIGTERM acts like Ctrl-C, and the process ends with its supervisor."""
    trial_loop.die_with_parent()
    signal.signal(signal.SIGTERM, interrupt.now)
