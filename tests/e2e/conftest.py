"""Fixtures for the slow tier: the CLI as a user types it (a subprocess), free ports, ``mlflow server``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _deliver_sigint() -> None:
    """In the child: take SIGINT as a terminal would (CI's background jobs inherit it ignored or blocked)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Cli:
    """``python -m cnnsearch ARGS`` in a fresh process: unbuffered output, a terminal ``columns`` wide."""

    command = [sys.executable, "-m", "cnnsearch"]

    def __init__(self, columns: int = 160) -> None:
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": str(columns)}
        self.spawned: list[subprocess.Popen[str]] = []

    def __call__(
        self, *args: str, cwd: Path, columns: int | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to its end; stdout and stderr captured as text."""
        env = self.env if columns is None else {**self.env, "COLUMNS": str(columns)}
        return subprocess.run([*self.command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)

    def popen(self, *args: str, cwd: Path, sigint: bool = False, **options: Any) -> subprocess.Popen[str]:
        """Start a command and return at once; stdout and stderr are text pipes unless ``options`` say otherwise.

        ``sigint=True``: the process receives SIGINT as from a terminal's Ctrl-C.
        Whatever is still running when the test ends is killed (its group, with
        ``start_new_session=True``).
        """
        options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **options}
        if sigint:
            options["preexec_fn"] = _deliver_sigint
        proc = subprocess.Popen([*self.command, *args], cwd=cwd, env=self.env, **options)
        self.spawned.append(proc)
        return proc

    def stop_spawned(self) -> None:
        for proc in self.spawned:
            if proc.poll() is None:
                try:
                    if os.getpgid(proc.pid) == proc.pid:  # started with start_new_session: its whole group
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        proc.kill()
                except ProcessLookupError:
                    pass
                proc.wait(timeout=60)
        self.spawned.clear()


@pytest.fixture(scope="session")
def cli() -> Iterator[Cli]:
    """The CLI as a subprocess: ``cli("run", path, cwd=dir)``, ``cli.popen(...)``, ``cli.env``."""
    runner = Cli()
    yield runner
    runner.stop_spawned()


@pytest.fixture(autouse=True)
def _stop_spawned_processes(cli: Cli) -> Iterator[None]:
    """No process a test started through ``cli.popen`` outlives the test."""
    yield
    cli.stop_spawned()


def seed_mlflow_store(folder: Path, template: Path) -> None:
    """Copy the session's migrated, empty MLflow store to ``folder/mlruns/mlflow.db``.

    MLflow migrates a new SQLite store for several seconds; most tests are not about that, so
    each starts from this copy. The tests that are (a first run creates the store; a bad spec
    creates nothing) are marked ``fresh_store`` and start from an empty folder.
    """
    (folder / "mlruns").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "mlruns" / "mlflow.db")


@pytest.fixture(scope="session")
def seed_store(_migrated_mlflow_db: Path) -> Callable[[Path], None]:
    """:func:`seed_mlflow_store` with the session's template, for a module's shared study folder."""
    return lambda folder: seed_mlflow_store(folder, _migrated_mlflow_db)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """Run the test inside tmp_path (mlruns/ and exports/ private to it), its MLflow store pre-migrated
    unless the test is marked ``fresh_store``."""
    monkeypatch.chdir(tmp_path)
    if request.node.get_closest_marker("fresh_store") is None:
        seed_mlflow_store(tmp_path, request.getfixturevalue("_migrated_mlflow_db"))
    return tmp_path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def port() -> int:
    """A free loopback port (see :func:`free_port`)."""
    return free_port()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` with its own SQLite store and proxied artifact root; stopped as a group.

    One server for the session (it takes 8 s to start): each test that uses it names its own experiment.
    """
    port = free_port()
    root = tmp_path_factory.mktemp("server")
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
