"""MLflow's private tracking-URI slot, which ``tracking_uri_set`` saves and restores."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking._tracking_service import utils as tracking_utils

from cnnsearch.tracking._registry import tracking_uri_set


def test_the_uri_is_set_inside_the_block_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking_utils._tracking_uri = None  # as in a fresh process
    uri = f"sqlite:///{tmp_path / 'inside.db'}"
    with tracking_uri_set(uri):
        assert mlflow.get_tracking_uri() == uri
        assert tracking_utils._tracking_uri == uri  # the slot MLflow keeps it in
    assert tracking_utils._tracking_uri is None
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert mlflow.get_tracking_uri() != uri


def test_a_uri_set_before_is_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = f"sqlite:///{tmp_path / 'before.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", before)
    mlflow.set_tracking_uri(before)
    with tracking_uri_set(f"sqlite:///{tmp_path / 'inside.db'}"):
        pass
    assert mlflow.get_tracking_uri() == before
    assert os.environ["MLFLOW_TRACKING_URI"] == before
