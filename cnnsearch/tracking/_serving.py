"""``cnnsearch serve``: a registered version behind ``mlflow models serve``, started the way it works.

Run by hand, ``mlflow models serve -m models:/NAME/V --env-manager local`` fails with
``exec: uvicorn: not found`` unless the virtual environment is activated: MLflow
starts uvicorn through the shell's PATH. Here the server runs with this interpreter's
``bin`` folder first on PATH and the spec's tracking URI set, and :meth:`ModelServer.wait_ready`
returns only once ``/ping`` answers, so the URL printed after it is one that works.

The process chain is cnnsearch -> ``mlflow models serve`` -> uvicorn, all in cnnsearch's
process group (a terminal's Ctrl-C or ``kill -- -PGID`` reaches every one). Each child
also gets SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``; MLflow does the
same for uvicorn), so no server outlives a killed ``cnnsearch serve``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnsearch.errors import CnnsearchError, first_line
from cnnsearch.spec import Spec
from cnnsearch.tracking._client import tracking_uri
from cnnsearch.tracking._registry import CHAMPION, registered_name, tracking_uri_set

#: How long the server may take to answer /ping (imports, model download, Keras load).
READY_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ServedVersion:
    """The registry version to serve and what its model says about its input and output."""

    name: str
    version: str
    champion: bool
    tracking_uri: str
    input: str | None  # the contract in the model's metadata; None for a version logged before it
    classes: list[str] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def served_version(spec: Spec, version: str | None = None) -> ServedVersion:
    """The spec's registered model at ``version``, else its ``champion``, else its latest version."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri, name = tracking_uri(spec), registered_name(spec)
    client = MlflowClient(uri)
    try:
        versions = sorted(
            (str(v.version) for v in client.search_model_versions(f"name = '{name}'")), key=lambda v: int(v)
        )
    except MlflowException as exc:
        raise CnnsearchError(f"cannot read the model registry at {uri}: {first_line(exc.message)}") from None
    if not versions:
        raise CnnsearchError(f"no registered model '{name}' in {uri}: export one first (cnnsearch best SPEC --export)")
    try:
        champion: str | None = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        champion = None
    chosen = version or champion or versions[-1]
    if chosen not in versions:
        raise CnnsearchError(f"model '{name}' has no version {chosen} (versions: {', '.join(versions)})")
    metadata = _model_metadata(uri, f"models:/{name}/{chosen}")
    return ServedVersion(
        name=name,
        version=chosen,
        champion=chosen == champion,
        tracking_uri=uri,
        input=metadata.get("input"),
        classes=[str(c) for c in metadata.get("classes", [])],
    )


def _model_metadata(uri: str, model_uri: str) -> dict[str, Any]:
    """The ``metadata`` of a version's MLmodel file (only that file is fetched)."""
    from mlflow.models import get_model_info

    with tracking_uri_set(uri):
        try:
            return dict(get_model_info(model_uri).metadata or {})
        except Exception as exc:  # noqa: BLE001 - a missing or unreadable artifact: say which
            raise CnnsearchError(f"{model_uri}: cannot read its MLmodel file: {first_line(exc)}") from None


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when cnnsearch dies (Linux only; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ModelServer:
    """One ``mlflow models serve`` process for a registry version, on ``host:port``."""

    def __init__(self, served: ServedVersion, host: str = "127.0.0.1", port: int = 5001) -> None:
        self.served, self.host, self.port = served, host, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "models", "serve", "-m", self.served.model_uri,
            "--env-manager", "local", "--host", self.host, "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        """This interpreter's bin folder first on PATH (uvicorn lives there) and the registry's URI."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["MLFLOW_TRACKING_URI"] = self.served.tracking_uri
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def start(self) -> None:
        """Start the server; its log goes to stderr, so stdout carries only what cnnsearch prints."""
        with socket.socket() as probe:
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise CnnsearchError(
                    f"cannot listen on {self.host}:{self.port} ({exc.strerror}): pick another with --port"
                ) from None
        self.process = subprocess.Popen(
            self.command(), env=self.environment(), stdout=sys.stderr, preexec_fn=_die_with_parent
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Return once ``/ping`` answers 200; CnnsearchError if the server exits or never answers."""
        assert self.process is not None, "start() first"
        local = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        probe = f"http://{local}:{self.port}/ping"
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise CnnsearchError(f"mlflow models serve exited with code {code} before answering (its log is above)")
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise CnnsearchError(f"mlflow models serve did not answer {probe} within {timeout:.0f} s")
            time.sleep(0.5)

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        assert self.process is not None, "start() first"
        return int(self.process.wait())

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM the server (uvicorn follows its parent), SIGKILL after ``timeout``; its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return int(self.process.returncode)

    @contextlib.contextmanager
    def running(self) -> Iterator[ModelServer]:
        """Started, ready, and stopped on leaving, also on Ctrl-C or SIGTERM (which end the wait quietly)."""

        def stop_waiting(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop_waiting)
        try:
            self.start()
            yield self
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def describe(self) -> list[str]:
        """What a caller needs: the URL, the input contract, the output, a request to copy."""
        s = self.served
        alias = f" (alias {CHAMPION})" if s.champion else ""
        lines = [f"Serving model '{s.name}' version {s.version}{alias} at {self.url}/invocations"]
        if s.input:
            lines.append(f"Input:  {s.input}")
        else:
            lines.append(
                "Input:  uint8 pixel values 0-255. This version was logged before cnnsearch checked its input: "
                "MLflow casts floats to uint8 unchecked (export again to get the check)"
            )
        order = f" for classes {', '.join(s.classes)}" if s.classes else ""
        lines.append(f'Output: {{"predictions": [[p, ...], ...]}}, one row of class probabilities per image{order}')
        lines.append(
            f"Try:    curl -s {self.url}/invocations -H 'Content-Type: application/json' "
            """-d '{"inputs": [[[[0], ...], ...]]}'   (Ctrl-C stops the server)"""
        )
        return lines
