"""What a search leaves in MLflow: the tracker's runs plus the views drawn for them.

:class:`SearchTracking` is the search layer's ``Tracking`` protocol made real: the
MLflow runs (``cnnsearch.tracking.Tracker``), each trial's summary and curves, the
study's plots and trials table (``_artifacts.py``), and reconciling runs after a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from cnnsearch.data import Splits
from cnnsearch.reporting import _artifacts as artifacts
from cnnsearch.tracking import BAD_FILES_ARTIFACT, Tracker, close_orphan_runs, close_trial_runs, dataset_input


class SearchTracking(Tracker):
    """A Tracker that also draws each trial's and the study's views (see ``cnnsearch.search.Tracking``)."""

    #: What the study trains on, logged as each run's dataset input; None: nothing logged.
    _dataset: Any = None
    #: The full list of skipped image files, logged to the parent run.
    _bad_list: Path | None = None

    def use_data(self, splits: Splits, bad_list: Path | None = None) -> None:
        """Log ``splits`` as the dataset input of the study's run and of every trial run started from now."""
        self._dataset, self._bad_list = dataset_input(self.spec, splits), bad_list

    def open_study_run(self, study: optuna.Study, spec_files: dict[str, str]) -> str:
        run_id = super().open_study_run(study, spec_files)
        if self._dataset is not None:
            with self.timed():
                self.client.log_inputs(run_id, [self._dataset])
                if self._bad_list is not None:
                    self.client.log_artifact(run_id, str(self._bad_list), BAD_FILES_ARTIFACT)
        return run_id

    def start_trial(self, parent_run_id: str, number: int, params: dict[str, Any]) -> str:
        run_id = super().start_trial(parent_run_id, number, params)
        if self._dataset is not None:
            with self.timed():
                self.client.log_inputs(run_id, [self._dataset])
        return run_id

    def log_model_summary(self, run_id: str, model: Any) -> None:
        artifacts.log_model_summary(self, run_id, model)

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
        artifacts.log_trial_curves(
            self,
            run_id,
            trial,
            history,
            self.spec,
            pruned_epoch=pruned_epoch,
            planned_epochs=planned_epochs,
            num_classes=num_classes,
        )

    def study_plots(self, run_id: str) -> artifacts.StudyArtifacts:
        return artifacts.StudyArtifacts(self, self.spec, run_id)

    def close_trial_runs(self, trial: FrozenTrial, reason: str, state: str) -> int:
        return close_trial_runs(self, trial, reason, state)

    def close_orphan_runs(self, study: optuna.Study) -> int:
        return close_orphan_runs(self, study)
