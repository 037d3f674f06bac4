"""What the search needs from the layers above it, declared here and satisfied there.

The search layer sits below tracking and reporting, so it never imports them. It
asks for these small interfaces instead: ``cnnsearch.reporting.SearchTracking``
implements :class:`Tracking` over MLflow, and ``cnnsearch.reporting.SearchConsole``
and ``PoolConsole`` implement the displays. ``None`` for a display runs silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import optuna
from optuna.trial import FrozenTrial

if TYPE_CHECKING:  # annotations only: importing the protocols must not load Keras
    from cnnsearch.training import EpochListener


class TrialTracking(Protocol):
    """One trial's run: what the objective logs while a trial trains."""

    @property
    def busy_s(self) -> float:
        """Seconds spent tracking so far (the logging overhead each trial records)."""

    def start_trial(self, parent_run_id: str, number: int, params: dict[str, Any]) -> str:
        """Create the trial's run under the study's run; return its id."""

    def end_trial(
        self, run_id: str, state: str, value: float | None = None, tags: dict[str, str] | None = None
    ) -> None:
        """Close the run with the trial's outcome (COMPLETE, PRUNED, FAIL, KILLED)."""

    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...

    def log_metrics(self, run_id: str, step: int, metrics: dict[str, float]) -> None: ...

    def share_weights(self, run_id: str, files: list[Path]) -> None:
        """A top-k trial's kept weight files, also as its run's artifacts where the store is shared."""

    def drop_shared_weights(self, run_ids: list[str]) -> str | None:
        """Delete evicted trials' weight artifacts where the store is shared; why some stay, else None."""

    def log_class_table(self, run_id: str, table: dict[str, list[Any]]) -> None:
        """Per-class validation figures (column -> values) as one table artifact of the run."""

    def epoch_logger(self, run_id: str) -> EpochListener:
        """A listener that logs each epoch's metrics to the run."""

    def log_model_summary(self, run_id: str, model: Any) -> None:
        """The network's summary; never raises (a missing view must not fail the trial)."""

    def log_trial_curves(
        self,
        run_id: str,
        trial: optuna.Trial,
        history: dict[str, list[float]],
        *,
        pruned_epoch: int | None,
        planned_epochs: int,
        num_classes: int,
    ) -> None:
        """The learning curves, their diagnosis (also as trial attributes); never raises."""


class StudyPlots(Protocol):
    """The study run's plots and tables, kept up to date while trials finish."""

    def trial_finished(self, study: optuna.Study) -> None:
        """Called after each finished trial: redraws when due."""

    def finish(self, study: optuna.Study) -> None:
        """The last redraw, at the end of a session."""


class StudyTracking(Protocol):
    """The study's run, and clean-up of runs whose trial died elsewhere."""

    def open_study_run(self, study: optuna.Study, spec_files: dict[str, str]) -> str:
        """Create the study's parent run once, or reopen it; return its id. Call under the study lock."""

    def close_study_run(self, run_id: str, status: str = "FINISHED") -> None: ...

    def log_study_progress(self, run_id: str, step: int, best: float | None, counts: dict[str, int]) -> None: ...

    def study_plots(self, run_id: str) -> StudyPlots: ...

    def close_trial_runs(self, trial: FrozenTrial, reason: str, state: str) -> int:
        """Close every still-running run of a trial that died; return how many."""

    def close_orphan_runs(self, study: optuna.Study) -> int:
        """Close runs whose trial already ended, and give a run to failed trials that have none."""


class Tracking(TrialTracking, StudyTracking, Protocol):
    """Everything a search session logs."""


class TrialDisplay(Protocol):
    """What the objective tells a live display."""

    def trial_started(self, number: int, params: dict[str, Any]) -> None: ...

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None: ...


class StudyDisplay(TrialDisplay, Protocol):
    """Progress of an in-process study."""

    def study_opened(self, study: optuna.Study) -> None: ...

    def trial_finished(self, study: optuna.Study, trial: FrozenTrial) -> None: ...

    def say(self, text: str) -> None: ...


class PoolDisplay(Protocol):
    """Progress of a study run by worker processes, read back from the storage."""

    def study_opened(self, study: optuna.Study) -> None: ...

    def refresh(self, study: optuna.Study) -> None: ...

    def say(self, text: str) -> None:
        """One line for the user (a worker died, workers are stopping)."""
