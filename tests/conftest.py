"""Shared fixtures: tiny specs, a clean working directory per test (mlruns/ lands there)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` with its own SQLite store and proxied artifact root; stopped as a group."""
    port = _free_port()
    root = tmp_path / "server"
    root.mkdir()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", (root / "artifacts").as_uri(),
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()
