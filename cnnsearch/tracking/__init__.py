"""MLflow: one parent run per study, one nested run per trial, the export's run and registry,
and reconciling runs with the study after a crash. Knows nothing of plots or pages.
Imports ``spec`` (for names and the tracking URI) and Optuna's trial records.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.tracking._client import (
        EPOCH_FLUSH_S,
        HTTP_LIMITS,
        MAX_BATCH,
        Tracker,
        default_tracking_uri,
        limit_http_retries,
        tracking_uri,
    )
    from cnnsearch.tracking._dataset import BAD_FILES_ARTIFACT, dataset_input
    from cnnsearch.tracking._preflight import environment_problem, tracking_problem
    from cnnsearch.tracking._reconcile import close_orphan_runs, close_trial_runs, track_runless_trials
    from cnnsearch.tracking._registry import (
        CHAMPION,
        CHAMPION_RULE,
        EXPORT_KIND,
        VersionNote,
        describe_version,
        finish_export_run,
        input_contract,
        log_model,
        registered_name,
        start_export_run,
        tracking_uri_set,
    )
    from cnnsearch.tracking._serving import ModelServer, ServedVersion, served_version
    from cnnsearch.tracking._ui import UI_TIMEOUT_S, UiServer, mlflow_ui_command, start_ui, stop_signals
    from cnnsearch.tracking._views import TRIALS_VIEW, experiment_url, trials_view_tag
    from cnnsearch.tracking._weights import WEIGHTS_ARTIFACT_DIR, fetch_run_weights, shared_store

__all__ = [
    "BAD_FILES_ARTIFACT",
    "CHAMPION",
    "CHAMPION_RULE",
    "EPOCH_FLUSH_S",
    "EXPORT_KIND",
    "HTTP_LIMITS",
    "MAX_BATCH",
    "TRIALS_VIEW",
    "UI_TIMEOUT_S",
    "WEIGHTS_ARTIFACT_DIR",
    "ModelServer",
    "ServedVersion",
    "Tracker",
    "UiServer",
    "VersionNote",
    "close_orphan_runs",
    "close_trial_runs",
    "dataset_input",
    "default_tracking_uri",
    "describe_version",
    "environment_problem",
    "experiment_url",
    "fetch_run_weights",
    "finish_export_run",
    "input_contract",
    "limit_http_retries",
    "log_model",
    "mlflow_ui_command",
    "registered_name",
    "served_version",
    "shared_store",
    "start_export_run",
    "start_ui",
    "stop_signals",
    "track_runless_trials",
    "tracking_problem",
    "tracking_uri",
    "tracking_uri_set",
    "trials_view_tag",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
