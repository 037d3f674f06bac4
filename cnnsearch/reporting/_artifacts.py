"""What a search leaves in MLflow beyond params and metrics, and when.

Per trial (nested run): the model summary, the learning-curve PNG and the
curves' diagnosis (tag, reason and Optuna user attr). Per study (parent run):
the Optuna plots as PNG + HTML and the trials CSV (with costs measured: the front's plot
and ``front.csv``), refreshed while the study runs
(see ``RefreshPolicy``) and once more at the end. None of this may fail a trial
or a study: an error is recorded as a tag and the search goes on.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from cnnsearch._keys import DIAGNOSIS_ATTR, DIAGNOSIS_REASON_ATTR, DIAGNOSIS_TAG, TAG_PREFIX
from cnnsearch.errors import first_line
from cnnsearch.reporting._front import FRONT_CSV, front_frame, write_front_plot
from cnnsearch.reporting._plots import plot_learning_curves, write_study_plots
from cnnsearch.reporting._tables import trials_frame
from cnnsearch.spec import Spec, measured_costs
from cnnsearch.tracking import Tracker
from cnnsearch.training import Diagnosis, diagnose

CURVES_FILE = "curves.png"
SUMMARY_FILE = "model_summary.txt"
TRIALS_CSV = "trials.csv"
PLOTS_DIR = "plots"


def log_model_summary(tracker: Tracker, run_id: str, model: Any) -> None:
    """The Keras model summary (layers, shapes, parameter counts) as a text artifact."""
    try:
        with tracker.timed():
            parts: list[str] = []
            model.summary(print_fn=lambda text, *args, **kwargs: parts.append(text), line_length=100)
            tracker.log_text(run_id, "\n".join(parts), SUMMARY_FILE)
    except Exception as exc:  # noqa: BLE001 - a missing summary must not fail the trial
        _note_error(tracker, run_id, "summary", exc)


def log_trial_curves(
    tracker: Tracker,
    run_id: str,
    trial: optuna.Trial,
    history: dict[str, list[float]],
    spec: Spec,
    *,
    pruned_epoch: int | None,
    planned_epochs: int,
    num_classes: int,
) -> Diagnosis | None:
    """Diagnose the curves and log them: PNG, diagnosis tags, the pruned/stopped epoch as a metric.

    The marked epoch is where the pruner stopped the trial or where training ended
    before ``planned_epochs`` (early stopping, NaN guard). Returns the diagnosis, or None if it failed.
    """
    try:
        with tracker.timed():
            epochs_run = len(history.get("loss", []))
            marker, label = pruned_epoch, "pruned"
            if marker is None and 0 < epochs_run < planned_epochs:
                marker, label = epochs_run - 1, "stopped"
            diagnosis = diagnose(history, baseline_loss=math.log(num_classes) if num_classes > 1 else None)
            trial.set_user_attr(DIAGNOSIS_ATTR, diagnosis.label)
            trial.set_user_attr(DIAGNOSIS_REASON_ATTR, diagnosis.reason)
            metrics = {"epochs_run": float(epochs_run)}
            if marker is not None:
                metrics[f"{label}_epoch"] = float(marker)
            tracker.defer(
                run_id, {DIAGNOSIS_TAG: diagnosis.label, f"{DIAGNOSIS_TAG}_reason": diagnosis.reason}, metrics
            )
            with tempfile.TemporaryDirectory() as tmp:
                path = plot_learning_curves(
                    history,
                    spec.study.metric,
                    marker,
                    Path(tmp) / CURVES_FILE,
                    marker_label=label,
                    best_epoch=_best_epoch(history.get(spec.study.metric, []), spec.study.direction),
                    title=f"trial {trial.number}: {diagnosis.label}",
                )
                tracker.client.log_artifact(run_id, str(path))
            return diagnosis
    except Exception as exc:  # noqa: BLE001 - curves are a view; the trial's result stands
        _note_error(tracker, run_id, "curves", exc)
        return None


def _best_epoch(values: list[float], direction: str) -> int | None:
    """The first epoch with the best finite value (as the objective counts it)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return values.index(max(finite) if direction == "maximize" else min(finite))


def _note_error(tracker: Tracker, run_id: str, what: str, exc: BaseException) -> None:
    try:
        tracker.log_tags(run_id, {f"{TAG_PREFIX}{what}_error": f"{type(exc).__name__}: {first_line(exc)}"[:500]})
    except Exception:  # noqa: BLE001 - the tracking server itself may be the problem
        pass


@dataclass
class RefreshPolicy:
    """When to redraw the study plots: often enough to watch, rarely enough to stay cheap.

    A refresh is due once ``min_interval_s`` have passed since the last one (or since the
    study started in this process) and the time since then is at least the last
    refresh's cost divided by ``max_share``, so plotting stays under about that share
    of the study's wall time. The study runner also refreshes once at the end.
    """

    min_interval_s: float = 60.0
    max_share: float = 0.05
    last: float = 0.0
    cost: float = 0.0

    def due(self, now: float) -> bool:
        return now - self.last >= max(self.min_interval_s, self.cost / self.max_share)

    def record(self, started: float, finished: float) -> None:
        self.last, self.cost = finished, finished - started


class StudyArtifacts:
    """Keeps the parent run's plots and trials table up to date while the study runs."""

    def __init__(self, tracker: Tracker, spec: Spec, run_id: str, policy: RefreshPolicy | None = None) -> None:
        self.tracker = tracker
        self.spec = spec
        self.run_id = run_id
        self.policy = policy or RefreshPolicy(last=time.monotonic())
        self.refreshes = 0
        self._drawn_for: tuple[int, int] | None = None  # (finished trials, last trial) at the last refresh

    def trial_finished(self, study: optuna.Study) -> None:
        """Called after every trial: refreshes when the policy says it is due."""
        if self.policy.due(time.monotonic()):
            self.refresh(study)

    def finish(self, study: optuna.Study) -> None:
        """The final refresh, unless nothing changed since the last one."""
        if self._drawn_for != _progress(study):
            self.refresh(study)

    def refresh(self, study: optuna.Study) -> None:
        """Redraw every plot the study allows and upload them with the trials CSV; never raises."""
        started = time.monotonic()
        try:
            with self.tracker.timed(), tempfile.TemporaryDirectory() as tmp:
                outcome = write_study_plots(study, Path(tmp) / PLOTS_DIR)
                trials_frame(study, self.spec).to_csv(Path(tmp) / TRIALS_CSV, index=False)
                if measured_costs(self.spec.study):  # accuracy against cost: the front plot and table
                    write_front_plot(study, self.spec, Path(tmp) / PLOTS_DIR)
                    front_frame(study, self.spec).to_csv(Path(tmp) / FRONT_CSV, index=False)
                    self.tracker.client.log_artifact(self.run_id, str(Path(tmp) / FRONT_CSV))
                if any(Path(tmp, PLOTS_DIR).iterdir()):
                    self.tracker.log_artifacts(self.run_id, Path(tmp) / PLOTS_DIR, PLOTS_DIR)
                self.tracker.client.log_artifact(self.run_id, str(Path(tmp) / TRIALS_CSV))
                self._drawn_for = _progress(study)
                skipped = {k: v.removeprefix("skipped: ") for k, v in outcome.items() if v != "ok"}
                self.refreshes += 1
                self.tracker.log_tags(
                    self.run_id,
                    {
                        "cnnsearch.plots_updated": f"after {self._drawn_for[0]} finished trials",
                        "cnnsearch.plots_skipped": "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none",
                    },
                    {"plots_refresh_s": time.monotonic() - started},
                    step=self.refreshes,
                )
        except Exception as exc:  # noqa: BLE001 - plotting must never fail a study
            _note_error(self.tracker, self.run_id, "plots", exc)
        finally:
            self.policy.record(started, time.monotonic())


def _progress(study: optuna.Study) -> tuple[int, int]:
    """(finished trials, the last of their numbers): what a refresh showed."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    return len(finished), max((t.number for t in finished), default=-1)
