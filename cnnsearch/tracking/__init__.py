"""MLflow: one parent run per study, one nested run per trial, the export's run and registry,
and reconciling runs with the study after a crash. Knows nothing of plots or pages.
Imports ``spec`` (for names and the tracking URI) and Optuna's trial records.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.tracking._client import Tracker, default_tracking_uri, limit_http_retries, tracking_uri
    from cnnsearch.tracking._dataset import BAD_FILES_ARTIFACT, dataset_input
    from cnnsearch.tracking._preflight import environment_problem
    from cnnsearch.tracking._reconcile import close_orphan_runs, close_trial_runs
    from cnnsearch.tracking._registry import describe_version, finish_export_run, log_model, start_export_run
    from cnnsearch.tracking._serving import ModelServer, served_version
    from cnnsearch.tracking._ui import mlflow_ui_command, start_ui, stop_signals
    from cnnsearch.tracking._weights import fetch_run_weights, shared_store

__all__ = [
    "BAD_FILES_ARTIFACT",
    "ModelServer",
    "Tracker",
    "close_orphan_runs",
    "close_trial_runs",
    "dataset_input",
    "default_tracking_uri",
    "describe_version",
    "environment_problem",
    "fetch_run_weights",
    "finish_export_run",
    "limit_http_retries",
    "log_model",
    "mlflow_ui_command",
    "served_version",
    "shared_store",
    "start_export_run",
    "start_ui",
    "stop_signals",
    "tracking_uri",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
