"""`cnnsearch ui`'s start: the URL only once the server answers, one clear error when it dies, does
not answer in time or finds its port taken. Real child processes (tiny Python scripts standing in for
`mlflow ui`, answering MLflow's get-by-name as it does); `tests/e2e/test_cli.py` starts the real one."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from cnnsearch.errors import CnnsearchError
from cnnsearch.tracking import start_ui

#: A server answering MLflow's get-by-name: experiment "tiny" has id 7, any other name is a 404.
SERVER = """
import http.server, json, sys, urllib.parse
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        found = query.get("experiment_name") == ["tiny"]
        body = json.dumps({"experiment": {"experiment_id": "7"}} if found else {"error_code": "NOT_FOUND"})
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


@pytest.mark.parametrize(
    ("name", "url_tail", "found"),
    [
        ("tiny", "/#/experiments/7/runs?workflowType=machine_learning&viewStateShareKey=cnnsearch-trials", "7"),
        ("other", "/#/experiments", None),
    ],
)
def test_the_url_is_the_experiments_own_page_once_the_server_answers(
    name: str, url_tail: str, found: str | None
) -> None:
    port = _free_port()
    said: list[str] = []
    server = start_ui(_python(SERVER, str(port)), "127.0.0.1", port, name, timeout=30, say=said.append)
    try:
        assert server.url == f"http://127.0.0.1:{port}{url_tail}" and server.experiment_id == found
        assert server.process.poll() is None
        assert said[0].startswith(f"Starting the MLflow UI on http://127.0.0.1:{port} (waits until it answers")
    finally:
        server.process.terminate()
        server.process.wait(10)


def test_a_server_that_exits_first_is_one_error_quoting_its_last_line() -> None:
    code = "import sys; print('Registry store URI not provided.'); print('OSError: no such store', flush=True); sys.exit(3)"
    port = _free_port()
    with pytest.raises(CnnsearchError) as error:
        start_ui(_python(code), "127.0.0.1", port, "tiny", timeout=30)
    assert str(error.value) == "the MLflow UI stopped (exit status 3) before it answered: OSError: no such store"


def test_a_server_that_does_not_answer_in_time_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); print('importing', flush=True); time.sleep(120)"
    port = _free_port()
    with pytest.raises(CnnsearchError) as error:
        start_ui(_python(code), "127.0.0.1", port, "tiny", timeout=1)
    assert str(error.value) == (
        f"the MLflow UI did not answer on http://127.0.0.1:{port} within 1 s; stopped it (its last line: importing)"
    )
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left behind
        os.kill(int(pid_file.read_text()), 0)


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CnnsearchError) as error:
            start_ui(_python(f"open({str(marker)!r}, 'w')"), "127.0.0.1", port, "tiny", timeout=30)
    assert str(error.value) == (
        f"--port {port}: cannot listen on 127.0.0.1:{port} (Address already in use); choose another port"
    )
    assert not marker.exists()
