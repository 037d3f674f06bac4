"""`cnnsearch serve` before any server starts: which version, the environment it gets, one-line errors."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from cnnsearch.spec import load_spec
from tests.conftest import Invoke
from tests.helpers import SpecFile


def test_no_registered_model_is_one_error_line_naming_the_export_command(
    invoke: Invoke, mlflow_store: Path, tiny_spec_file: SpecFile
) -> None:
    line = invoke.error_line("serve", str(tiny_spec_file()))
    assert line.startswith("error: no registered model 'tiny' in sqlite:///")
    assert line.endswith(": export one first (cnnsearch best SPEC --export)")


def test_the_champion_is_served_unless_a_version_is_named(mlflow_store: Path, tiny_spec_file: SpecFile) -> None:
    """Registry versions without model files: the choice and its errors need only the registry."""
    from mlflow.tracking import MlflowClient

    from cnnsearch.errors import CnnsearchError
    from cnnsearch.tracking import Tracker, served_version

    spec = load_spec(tiny_spec_file())
    tracker = Tracker(spec)
    client = MlflowClient(tracker.uri)
    client.create_registered_model("tiny")
    run = client.create_run(tracker.experiment_id)
    for _ in range(3):
        client.create_model_version("tiny", f"runs:/{run.info.run_id}/model", run.info.run_id)
    with pytest.raises(CnnsearchError, match="models:/tiny/3: cannot read its MLmodel file"):
        served_version(spec)  # no champion: the latest, whose files are missing here
    client.set_registered_model_alias("tiny", "champion", "2")
    with pytest.raises(CnnsearchError, match="models:/tiny/2: "):
        served_version(spec)
    with pytest.raises(CnnsearchError, match=r"model 'tiny' has no version 7 \(versions: 1, 2, 3\)"):
        served_version(spec, "7")


def test_the_server_finds_uvicorn_beside_this_interpreter_and_the_registry_by_uri() -> None:
    from cnnsearch.tracking import ModelServer
    from cnnsearch.tracking._serving import ServedVersion

    served = ServedVersion("tiny", "2", True, "sqlite:////x/mlflow.db", "a batch ...", ["0", "1"])
    server = ModelServer(served, "127.0.0.1", 5123)
    env = server.environment()
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:////x/mlflow.db"
    command = server.command()
    assert command[:5] == [sys.executable, "-m", "mlflow", "models", "serve"]
    assert command[command.index("-m", 3) + 1] == "models:/tiny/2" and "--env-manager" in command
    lines = server.describe()
    assert lines[0] == "Serving model 'tiny' version 2 (alias champion) at http://127.0.0.1:5123/invocations"
    assert lines[1] == "Input:  a batch ..." and lines[2].endswith("for classes 0, 1")


def test_a_busy_port_is_an_error_before_anything_starts() -> None:
    from cnnsearch.errors import CnnsearchError
    from cnnsearch.tracking import ModelServer
    from cnnsearch.tracking._serving import ServedVersion

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ModelServer(ServedVersion("tiny", "1", False, "sqlite:///x", None), "127.0.0.1", port)
        with pytest.raises(CnnsearchError, match=f"cannot listen on 127.0.0.1:{port} .*: pick another with --port"):
            server.start()
        assert server.process is None
