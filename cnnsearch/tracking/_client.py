"""MLflow tracking: one parent run per study, one nested run per trial.

Uses ``MlflowClient`` with explicit run ids (no global active-run stack), so a
trial's run can be created, logged per epoch in one batch, and closed with the
right status whatever happens inside the trial.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cnnsearch._keys import (
    CLASS_TABLE,
    CUSTOM_MODEL_KIND,
    EXPERIMENT_KIND_TAG,
    KIND_TAG,
    NOTE_TAG,
    PARENT_RUN_ATTR,
    PARENT_TAG,
    RUN_NAME_TAG,
    RUN_STATUS,
    SCORE_PREFIX,
    SPEC_PATH_ATTR,
    STATE_TAG,
    STUDY_TAG,
    TRIAL_TAG,
)
from cnnsearch._paths import HOME, mlflow_db
from cnnsearch.spec import Spec, describe_objectives, limits
from cnnsearch.tracking import _weights as weights
from cnnsearch.tracking._views import trials_view_tag

#: Per-epoch metrics go out in one batch per epoch, but at most once per this many seconds:
#: metrics of shorter epochs wait for the next batch (or the run's closing one). Steps stay exact.
EPOCH_FLUSH_S = 1.0
#: MLflow accepts up to 1000 metrics per batch; send before a buffer gets near that.
MAX_BATCH = 900


def default_tracking_uri(home: Path = HOME) -> str:
    """SQLite under ./mlruns: MLflow 3 refuses a bare file store by default."""
    return f"sqlite:///{mlflow_db(home).resolve()}"


def tracking_uri(spec: Spec) -> str:
    """The spec's tracking_uri, else $MLFLOW_TRACKING_URI, else the local SQLite store."""
    return spec.tracking.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


#: MLflow's HTTP client retries a failed request 7 times with exponential backoff (over 3 minutes
#: for a server that is gone). cnnsearch lets it retry a few times over seconds instead, so a server
#: lost mid-run stops the study quickly; a value already in the environment is kept.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def limit_http_retries() -> None:
    """Set :data:`HTTP_LIMITS` for this process and the workers it starts (unless already set)."""
    for name, value in HTTP_LIMITS.items():
        os.environ.setdefault(name, value)


#: A trial's outcome as its run name shows it: ``trial-3 (pruned)``.
_OUTCOME = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "KILLED": "killed"}

F = TypeVar("F", bound=Callable[..., Any])


def _timed(method: F) -> F:
    """Count the method's wall time into ``Tracker.busy_s`` (the logging overhead)."""

    @functools.wraps(method)
    def wrapper(self: Tracker, *args: Any, **kwargs: Any) -> Any:
        with self.timed():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _quiet_mlflow() -> None:
    """Keep MLflow's store migrations and 'View run' lines out of the console."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # "View run at" lines for servers
    limit_http_retries()  # a server lost mid-run: an error in seconds, not minutes of silent retries


class Tracker:
    """Logs a study and its trials to one MLflow experiment."""

    def __init__(self, spec: Spec) -> None:
        from mlflow.tracking import MlflowClient

        _quiet_mlflow()  # after the import: MLflow sets its own log level when imported

        self.spec = spec
        #: Seconds spent tracking so far (MLflow calls and artifact rendering), for overhead figures.
        self.busy_s = 0.0
        self._timing = False
        #: Per run: metrics not sent yet and tags for the closing batch, with the last send time.
        self._pending: dict[str, _Pending] = {}
        #: Trial runs started here, by run id: their name without the outcome ("trial-3").
        self._names: dict[str, str] = {}
        self.uri = tracking_uri(spec)
        local = self.uri == default_tracking_uri()
        if local:
            (HOME / "artifacts").mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(self.uri)
        name = spec.tracking.experiment
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            self.experiment_id = experiment.experiment_id
            if EXPERIMENT_KIND_TAG not in experiment.tags:  # made before cnnsearch set it
                self.client.set_experiment_tag(self.experiment_id, EXPERIMENT_KIND_TAG, CUSTOM_MODEL_KIND)
            view, state = trials_view_tag(spec)
            if view not in experiment.tags:
                self.client.set_experiment_tag(self.experiment_id, view, state)
        else:
            artifacts = (HOME / "artifacts").resolve().as_uri() if local else None
            self.experiment_id = self._create_experiment(name, artifacts)

    def _create_experiment(self, name: str, artifacts: str | None) -> str:
        """Create the experiment; if another worker or machine just did, use theirs."""
        from mlflow.exceptions import MlflowException

        try:
            # The kind makes MLflow 3 open it on its training runs, not on an empty GenAI overview.
            view, state = trials_view_tag(self.spec)  # the UI's saved view of the trials (see _views)
            return self.client.create_experiment(
                name, artifact_location=artifacts, tags={EXPERIMENT_KIND_TAG: CUSTOM_MODEL_KIND, view: state}
            )
        except MlflowException:
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return experiment.experiment_id

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Add the block's wall time to ``busy_s``; nested blocks count once."""
        if self._timing:
            yield
            return
        self._timing, started = True, time.perf_counter()
        try:
            yield
        finally:
            self.busy_s += time.perf_counter() - started
            self._timing = False

    # --- the study's parent run -------------------------------------------------

    @_timed
    def open_study_run(self, study: Any, spec_files: dict[str, str]) -> str:
        """The study's parent run: created once, reopened on every restart or worker."""
        run_id = study.user_attrs.get(PARENT_RUN_ATTR)
        if run_id:
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        run = self.client.create_run(
            self.experiment_id,
            run_name=self.spec.study.name,
            tags={KIND_TAG: "study", STUDY_TAG: self.spec.study.name, NOTE_TAG: self.study_description()},
        )
        run_id = run.info.run_id
        study.set_user_attr(PARENT_RUN_ATTR, run_id)
        s = self.spec.study
        self.log_params(
            run_id,
            {
                "dataset": self.spec.data.dataset,
                "metric": s.metric,
                "direction": s.direction,
                "n_trials": s.n_trials,
                "sampler": s.sampler,
                "pruner": s.pruner,
                "seed": s.seed,
                "epochs": self.spec.train.epochs,
                **({"objectives": describe_objectives(s)} if s.objectives or limits(s) else {}),
            },
        )
        for name, text in spec_files.items():
            self.client.log_text(run_id, text, f"spec/{name}")
        if "resolved.toml" in spec_files:  # the study keeps this short reference, not the whole spec
            study.set_user_attr(SPEC_PATH_ATTR, f"runs:/{run_id}/spec/resolved.toml")
        return run_id

    def study_description(self) -> str:
        """The parent run's description (Markdown in the MLflow UI): what the study is, where its report is."""
        s, name = self.spec.study, self.spec.study.name
        return (
            f"cnnsearch study **{name}**: an Optuna search of {s.n_trials} trials ({s.sampler} sampler, "
            f"{s.pruner} pruner) over CNNs for `{self.spec.data.dataset}`, {s.direction} `{s.metric}` "
            f"over up to {self.spec.train.epochs} epochs. Each nested run is one trial, named `trial-N (state)`; "
            f"its score, the value the search used, is the metric `{self.score_key}`.\n\n"
            f"Report: this run's artifacts `plots/` (Optuna's plots, PNG and interactive HTML) and `trials.csv`; "
            f"the whole study on one page with `cnnsearch report SPEC --out report.html`. "
            f"Spec: `spec/resolved.toml`."
        )

    @property
    def score_key(self) -> str:
        """The trial runs' score metric: ``score_<study metric>``."""
        return f"{SCORE_PREFIX}{self.spec.study.metric}"

    @_timed
    def close_study_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    @_timed
    def log_study_progress(self, run_id: str, step: int, best: float | None, counts: dict[str, int]) -> None:
        """Best value so far and trial counts, stepped by trial number (watchable live)."""
        metrics = {f"trials_{state.lower()}": float(count) for state, count in counts.items()}
        if best is not None:
            metrics["best_value"] = best
        self.log_metrics(run_id, step, metrics)

    # --- trial runs ---------------------------------------------------------------

    @_timed
    def start_trial(self, parent_run_id: str, number: int, params: dict[str, Any]) -> str:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{number}",
            tags={
                PARENT_TAG: parent_run_id,
                KIND_TAG: "trial",
                STUDY_TAG: self.spec.study.name,
                TRIAL_TAG: str(number),
                STATE_TAG: "RUNNING",
            },
        )
        self.log_params(run.info.run_id, params)
        self._names[run.info.run_id] = f"trial-{number}"
        return run.info.run_id

    @_timed
    def end_trial(
        self,
        run_id: str,
        state: str,
        value: float | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Close a trial run with its final state and score (``score_<metric>``).

        Pruned trials are FINISHED runs like complete ones, so the outcome also goes into the
        run's name (``trial-3 (pruned)``), which the runs list shows, and the tag ``cnnsearch.state``.
        """
        from mlflow.entities import RunTag

        pending = self._pending.pop(run_id, _Pending())
        name = self._names.pop(run_id, None) or self._trial_name(run_id)
        all_tags = {
            **pending.tags,
            STATE_TAG: state,
            RUN_NAME_TAG: f"{name} ({_OUTCOME.get(state, state.lower())})",
            **(tags or {}),
        }
        metrics = {self.score_key: value} if value is not None else {}
        for chunk in _chunks([*pending.metrics, *_metrics(metrics, step=0)]):
            self.client.log_batch(run_id, metrics=chunk, tags=[RunTag(k, str(v)) for k, v in all_tags.items()])
            all_tags = {}
        self.client.set_terminated(run_id, status=RUN_STATUS[state])

    def _trial_name(self, run_id: str) -> str:
        """A run started elsewhere (closed after a crash): its name from the trial tag."""
        return f"trial-{self.client.get_run(run_id).data.tags.get(TRIAL_TAG, '?')}"

    @_timed
    def log_class_table(self, run_id: str, table: dict[str, list[Any]]) -> None:
        """Per-class validation figures as one table artifact (``val_per_class.json``), not a chart per class."""
        import warnings

        with warnings.catch_warnings():  # MLflow's pandas calls warn of pandas 4; not ours to act on
            warnings.simplefilter("ignore")
            self.client.log_table(run_id, data=table, artifact_file=CLASS_TABLE)

    def epoch_logger(self, run_id: str) -> Callable[[int, dict[str, float]], None]:
        """An epoch listener for a trial run: one batch per epoch, at most one per EPOCH_FLUSH_S."""
        pending = self._pending.setdefault(run_id, _Pending())

        def log(epoch: int, metrics: dict[str, float]) -> None:
            with self.timed():
                pending.metrics.extend(_metrics(metrics, epoch))
                now = time.monotonic()
                if now - pending.sent >= EPOCH_FLUSH_S or len(pending.metrics) >= MAX_BATCH:
                    self.client.log_batch(run_id, metrics=pending.metrics)
                    pending.metrics, pending.sent = [], now

        return log

    def defer(self, run_id: str, tags: dict[str, str], metrics: dict[str, float] | None = None) -> None:
        """Tags and step-0 metrics to send with the run's closing batch (saves a round trip)."""
        pending = self._pending.setdefault(run_id, _Pending())
        pending.tags.update(tags)
        pending.metrics.extend(_metrics(metrics or {}, 0))

    # --- shared ----------------------------------------------------------------------

    @_timed
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])

    @_timed
    def share_weights(self, run_id: str, files: list[Path]) -> None:
        """A top-k trial's weight files, also as its run's artifacts when other machines read this store."""
        if files and weights.shared_store(self.uri):
            weights.log(self.client, run_id, files)

    @_timed
    def drop_shared_weights(self, run_ids: list[str]) -> str | None:
        """Delete evicted trials' weight artifacts (shared stores only); why some stay, else None."""
        if not weights.shared_store(self.uri):
            return None
        problems = [why for why in (weights.drop(self.client, run_id) for run_id in run_ids) if why]
        return problems[0] if problems else None

    @_timed
    def log_metrics(self, run_id: str, step: int, metrics: dict[str, float]) -> None:
        """All of one step's metrics in a single batched call."""
        self.client.log_batch(run_id, metrics=_metrics(metrics, step))

    @_timed
    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    @_timed
    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Upload a folder's files (replacing earlier versions at the same paths)."""
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    @_timed
    def log_tags(
        self, run_id: str, tags: dict[str, str], metrics: dict[str, float] | None = None, step: int = 0
    ) -> None:
        """Tags (and optional metrics) in one batched call."""
        from mlflow.entities import RunTag

        self.client.log_batch(
            run_id, metrics=_metrics(metrics or {}, step), tags=[RunTag(k, str(v)) for k, v in tags.items()]
        )


@dataclass
class _Pending:
    metrics: list[Any] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    sent: float = float("-inf")


def _chunks(metrics: list[Any]) -> list[list[Any]]:
    """Batches MLflow accepts; always at least one, so tags go out even without metrics."""
    return [metrics[i : i + MAX_BATCH] for i in range(0, len(metrics), MAX_BATCH)] or [[]]


def _metrics(values: dict[str, float], step: int) -> list[Any]:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(key, float(value), now, step) for key, value in values.items()]
