"""Registering an exported model: MLflow's process-wide tracking URI is set only for the call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_logging_the_model_leaves_the_process_tracking_uri_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """log_model needs MLflow's global URI; it must not leak into later work in the same process."""
    import mlflow

    from cnnsearch.tracking import tracking_uri_set as _tracking_uri

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'user.db'}")
    with _tracking_uri(f"sqlite:///{tmp_path / 'export.db'}"):
        assert mlflow.get_tracking_uri().endswith("export.db")
    assert os.environ["MLFLOW_TRACKING_URI"].endswith("user.db")
    assert mlflow.get_tracking_uri().endswith("user.db")
