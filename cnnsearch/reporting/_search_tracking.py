"""What a search leaves in MLflow: the tracker's runs plus the views drawn for them.

:class:`SearchTracking` is the search layer's ``Tracking`` protocol made real: the
MLflow runs (``cnnsearch.tracking.Tracker``), each trial's summary and curves, the
study's plots and trials table (``_artifacts.py``), and reconciling runs after a crash.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial

from cnnsearch.reporting import _artifacts as artifacts
from cnnsearch.tracking import Tracker, close_orphan_runs, close_trial_runs


class SearchTracking(Tracker):
    """A Tracker that also draws each trial's and the study's views (see ``cnnsearch.search.Tracking``)."""

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
