"""Shared fixtures: tiny specs, a clean working directory per test (mlruns/ lands there),
and ``invoke``, the CLI run in process through Typer's CliRunner.

Fixtures for processes and servers (the CLI as a subprocess, ``mlflow server``) are in
``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.helpers import SpecFile, tiny_spec

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(autouse=True)
def _no_global_mlflow_uri():
    """No test may leave MLflow's process-wide tracking URI (or its env var) to the next one."""
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    from mlflow.tracking._tracking_service import utils as tracking_utils

    tracking_utils._tracking_uri = None
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside tmp_path, so mlruns/ and exports/ are private to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def _migrated_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, created once per session (its migrations take seconds)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()  # creates and migrates the tables
    return path


@pytest.fixture
def mlflow_store(workdir: Path, _migrated_mlflow_db: Path) -> Path:
    """The default local MLflow store (``mlruns/mlflow.db`` in the test's directory), empty and ready."""
    import shutil

    path = workdir / "mlruns" / "mlflow.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_mlflow_db, path)
    return path


@pytest.fixture(scope="session")
def tiny_spec_text() -> Callable[..., str]:
    """:func:`tests.helpers.tiny_spec`, for fixtures of any scope (e.g. a module's shared study)."""
    return tiny_spec


@pytest.fixture
def tiny_spec_file(workdir: Path) -> SpecFile:
    """Write a tiny digits spec and return a function making variants of it."""

    def make(n_trials: int = 3, epochs: int = 2, pruner: str = "none", extra: str = "") -> Path:
        path = workdir / "tiny.toml"
        path.write_text(tiny_spec(n_trials, epochs, pruner, extra))
        return path

    return make


class Invoke:
    """``cnnsearch ARGS`` in this process (Typer's CliRunner), and its one-line errors."""

    def __init__(self) -> None:
        from typer.testing import CliRunner

        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        from cnnsearch.cli import app

        return self.runner.invoke(app, list(args))

    def error_line(self, *args: str) -> str:
        """Run a command that must fail: exit status 1, exactly one line on stderr, no traceback."""
        result = self(*args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "Traceback" not in result.output
        return lines[0]


@pytest.fixture(scope="session")
def invoke() -> Invoke:
    """The CLI in process: ``invoke("validate", path)`` returns the CliRunner result."""
    return Invoke()
