"""``cnnsearch ui``: start MLflow's UI, say where once it answers, stop it with its workers.

``mlflow ui`` answers only after its uvicorn workers have imported MLflow again, so
the URL is printed once the server has answered, and it is the experiment's own
page (the server itself is asked for the experiment's id). The server gets one
uvicorn worker and no job runner (MLflow's GenAI jobs: LLM judges, prompt
optimisation), which one person browsing a training store does not need: on
2 busy cores it answered in about 9 s instead of 47 s with MLflow's defaults.

Standard library only: MLflow runs in the child process, not here.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import IO, Any

from cnnsearch.errors import CnnsearchError
from cnnsearch.tracking._views import experiment_url

#: How long `cnnsearch ui` waits for the server to answer by default, in seconds.
UI_TIMEOUT_S = 120.0
#: How often the server is asked, and how often the wait is reported.
POLL_S = 0.5
REPORT_S = 10.0
#: After SIGTERM (which MLflow passes on to uvicorn), how long the server may take to stop.
STOP_S = 15.0


class UiServer:
    """A started MLflow UI that has answered: its process, and the URL to open."""

    def __init__(self, process: subprocess.Popen[str], url: str, experiment_id: str | None, output: _Output) -> None:
        self.process = process
        self.url = url  # the experiment's page; the experiments list when the store has no such experiment
        self.experiment_id = experiment_id
        self._output = output

    def serve(self) -> int:
        """Until the server stops; Ctrl-C (or SIGTERM, SIGHUP under :func:`stop_signals`) stops it
        and its workers first. Its own output goes on to stderr from now on. Returns its exit
        status (0 when it was stopped here)."""
        self._output.passing.set()
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            stop_server(self.process)
            return 0


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt inside, as Ctrl-C does: the server is then
    stopped, not left running without the process that started it."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def mlflow_ui_command(uri: str, host: str, port: int) -> list[str]:
    """``mlflow ui`` on ``uri``, with one uvicorn worker (MLflow's default, 4, takes a minute to start)."""
    serve = ["--host", host, "--port", str(port), "--workers", "1"]
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, *serve]


def start_ui(
    command: list[str],
    host: str,
    port: int,
    experiment: str,
    *,
    timeout: float = UI_TIMEOUT_S,
    say: Callable[[str], None] = lambda line: None,
) -> UiServer:
    """Start ``command`` (an ``mlflow ui`` on ``host:port``) and return once the server answers.

    Raises CnnsearchError, with the server stopped, when the port is taken, the server
    exits first (its last line of output is quoted) or it does not answer within ``timeout``
    seconds. Ctrl-C while waiting stops it too (KeyboardInterrupt goes on).
    """
    _check_port(host, port)
    base = f"http://{_in_url(host)}:{port}"
    query = urllib.parse.urlencode({"experiment_name": experiment})
    probe = f"http://{_in_url(_reachable(host))}:{port}/ajax-api/2.0/mlflow/experiments/get-by-name?{query}"
    env = {**os.environ}
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=env,
    )
    assert process.stdout is not None
    output = _Output(process.stdout)
    say(f"Starting the MLflow UI on {base} (waits until it answers, at most {timeout:g} s; Ctrl-C stops it)")
    try:
        answer = _wait(process, probe, time.monotonic() + timeout, say)
    except BaseException:
        stop_server(process)
        raise
    if answer is None:
        status = process.poll()
        if status is None:  # still not answering
            last = output.last(ended=False)
            stop_server(process)
            raise CnnsearchError(
                f"the MLflow UI did not answer on {base} within {timeout:g} s; stopped it (its last line: {last})"
            )
        raise CnnsearchError(f"the MLflow UI stopped (exit status {status}) before it answered: {output.last()}")
    experiment_id = answer or None
    # The trials view, in the "Model training" workflow: MLflow 3's UI opens a bare experiment URL as GenAI.
    url = experiment_url(base, experiment_id) if experiment_id else f"{base}/#/experiments"
    return UiServer(process, url, experiment_id, output)


def _wait(process: subprocess.Popen[str], probe: str, deadline: float, say: Callable[[str], None]) -> str | None:
    """Ask ``probe`` until the server answers (its answer), exits or the deadline passes (None)."""
    started = reported = time.monotonic()
    while process.poll() is None and time.monotonic() < deadline:
        answer = _ask(probe)
        if answer is not None:
            return answer if process.poll() is None else None  # answered by our server, not another's
        if time.monotonic() - reported >= REPORT_S:
            reported = time.monotonic()
            say(f"  still starting ({reported - started:.0f} s)")
        time.sleep(POLL_S)
    return None


def stop_server(process: subprocess.Popen[str]) -> int:
    """SIGTERM (MLflow passes it on to uvicorn, which stops its workers), then SIGKILL after STOP_S."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def _ask(url: str) -> str | None:
    """The experiment's id once the server answers ('' when it has no such experiment), else None."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(json.load(response)["experiment"]["experiment_id"])
    except urllib.error.HTTPError as exc:
        return None if exc.code >= 500 else ""  # 404: no such experiment; 5xx: still starting
    except (OSError, ValueError, KeyError, TypeError):  # refused, reset or timed out: not listening yet
        return None


def _check_port(host: str, port: int) -> None:
    """The port must be free, else a server already there would answer for ours."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CnnsearchError(f"--host {host}: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise CnnsearchError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); choose another port"
            ) from None


def _reachable(host: str) -> str:
    """Where to ask a server that listens on ``host``: loopback for the wildcard addresses."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def _in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Output:
    """The server's output, read by a thread: its last lines are kept (for an error) until
    it has answered, then it goes on to stderr as ``mlflow ui`` would print it."""

    def __init__(self, stream: IO[str]) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=20)
        self.passing = threading.Event()
        self._reader = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._reader.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            if self.passing.is_set():
                sys.stderr.write(line)
                sys.stderr.flush()
            elif line.strip():
                self.tail.append(line.strip())

    def last(self, ended: bool = True) -> str:
        """The last line it printed (with a crash, the exception's line); ``ended``: once the output
        has been read to its end (at most 2 s: a worker left behind may hold the pipe open)."""
        if ended:
            self._reader.join(timeout=2)
        return self.tail[-1] if self.tail else "no output"
