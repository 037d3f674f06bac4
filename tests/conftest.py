"""Shared fixtures: tiny specs, a clean working directory per test (mlruns/ lands there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: A spec small enough to train in seconds on 2 CPU cores.
TINY_SPEC = """
[study]
name = "tiny"
n_trials = {n_trials}
sampler = "random"
pruner = "{pruner}"
seed = 7

[data]
dataset = "digits"
max_train_samples = 400

[model]
blocks = {{ low = 1, high = 2 }}
filters = {{ choices = [8, 16] }}
kernel_size = 3
batch_norm = {{ choices = [true, false] }}
dropout = {{ low = 0.0, high = 0.3 }}
dense_units = {{ choices = [0, 32] }}

[train]
epochs = {epochs}
batch_size = 64
learning_rate = {{ low = 1e-3, high = 1e-2, log = true }}
optimizer = "adam"
early_stopping_patience = 2
"""


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


@pytest.fixture
def tiny_spec_file(workdir: Path):
    """Write a tiny digits spec and return a function making variants of it."""

    def make(n_trials: int = 3, epochs: int = 2, pruner: str = "none", extra: str = "") -> Path:
        path = workdir / "tiny.toml"
        path.write_text(TINY_SPEC.format(n_trials=n_trials, epochs=epochs, pruner=pruner) + extra)
        return path

    return make
