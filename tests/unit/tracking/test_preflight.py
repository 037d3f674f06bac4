"""The MLflow store is checked before any training: a known scheme, a server that answers within
seconds, an SQLite mlflow.db, folders under mlruns/; and MLflow's HTTP retries last seconds, not minutes."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnsearch.tracking import limit_http_retries
from cnnsearch.tracking._client import HTTP_LIMITS
from cnnsearch.tracking._preflight import known_schemes, scheme_of, server_problem, tracking_problem


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once, every time."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def answering_server() -> Iterator[str]:
    """An HTTP server that answers every request with 404 (it answers: that is all the check asks)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_unknown_scheme_is_refused() -> None:
    problem = tracking_problem("nonsense://x", local=False)
    assert problem is not None and problem.startswith("unknown scheme 'nonsense://' in 'nonsense://x'; expected ")
    assert {"http", "https", "sqlite", "postgresql", "file", ""} <= known_schemes()
    assert scheme_of("postgresql+psycopg://h/db") == "postgresql" and scheme_of("/some/folder") == ""


def test_server_that_does_not_answer(closed_port: int) -> None:
    problem = server_problem(f"http://127.0.0.1:{closed_port}", timeout_s=2)
    assert (
        problem
        == f"no MLflow server answers at http://127.0.0.1:{closed_port} within 2 s (Connection refused); is it running?"
    )


def test_server_that_answers_even_with_an_error_status(answering_server: str) -> None:
    assert tracking_problem(answering_server, local=False) is None


def test_sqlite_tracking_store_that_is_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_text("garbage")
    for write in (True, False):
        problem = tracking_problem(f"sqlite:///{tmp_path}/mlflow.db", local=False, write=write)
        assert problem is not None and "is not an SQLite database" in problem
    assert tracking_problem(f"sqlite:///{tmp_path}/new/mlflow.db", local=False) is None
    assert not (tmp_path / "new").exists()


def test_local_store_damaged(workdir: Path) -> None:
    uri = "sqlite:///ignored"
    assert tracking_problem(uri, local=True, study="tiny") is None
    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "artifacts").write_text("")
    assert tracking_problem(uri, local=True, study="tiny") == "'mlruns/artifacts' is a file, not a folder"
    assert tracking_problem(uri, local=True, write=False) == "'mlruns/artifacts' is a file, not a folder"
    (workdir / "mlruns" / "artifacts").unlink()
    (workdir / "mlruns" / "mlflow.db").write_text("garbage")
    assert "'mlruns/mlflow.db' is not an SQLite database" in (tracking_problem(uri, local=True, write=False) or "")


def test_folder_tracking_uri_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    assert (
        tracking_problem(f"file://{tmp_path}/plain/runs", local=False) == f"'{tmp_path}/plain' is a file, not a folder"
    )
    assert tracking_problem(f"{tmp_path}/runs", local=False) is None


def test_http_retries_are_limited_unless_the_user_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HTTP_LIMITS:
        monkeypatch.setenv(name, "")  # recorded, so the teardown restores the variable as it was
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "99")
    limit_http_retries()
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    # MLflow's own readers see them (the names exist in this MLflow), and the user's value stays.
    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 3 and MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 1
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 99
