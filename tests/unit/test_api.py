"""``validate`` checks everything ``run`` needs beyond the spec's fields, and ``run``, ``trials``,
``best`` and ``report`` run the same checks first: each problem is one ``error:`` line, exit 1,
before Keras loads, and nothing stored changes."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Invoke

SPEC = '[study]\nname = "tiny"\nn_trials = 1\n\n[data]\ndataset = "digits"\n'


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once, every time."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def snapshot(root: Path) -> dict[str, object]:
    """Every path under ``root`` with its bytes (or link target, or "<dir>"): what 'nothing changed' compares."""
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = ("link", os.readlink(path))
        elif path.is_dir():
            found[key] = "<dir>"
        else:
            found[key] = path.read_bytes()
    return found


@pytest.fixture
def spec(workdir: Path) -> Path:
    path = workdir / "tiny.toml"
    path.write_text(SPEC)
    return path


def refused(invoke: Invoke, workdir: Path, *args: str) -> str:
    """The one error line of a command that must fail, checking that it changed nothing under workdir."""
    before = snapshot(workdir)
    line = invoke.error_line(*args)
    assert snapshot(workdir) == before
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


def test_validate_of_a_good_spec_creates_nothing(invoke: Invoke, spec: Path, workdir: Path) -> None:
    before = snapshot(workdir)
    assert invoke("validate", str(spec)).exit_code == 0
    assert snapshot(workdir) == before  # no mlruns/ made by a check


def test_study_name_too_long_for_its_files(invoke: Invoke, spec: Path, workdir: Path) -> None:
    line = refused(invoke, workdir, "validate", str(spec), "--set", "study.name=" + "n" * 300)
    assert line == (
        "--set: study.name: 300 characters is too long: its journal, weights and export file names must stay "
        "within 255 bytes; expected at most 200 characters"
    )
    spec.write_text(SPEC.replace('"tiny"', '"' + "n" * 201 + '"'))
    assert refused(invoke, workdir, "run", str(spec)).startswith(f"{spec}: study.name: 201 characters is too long")


def test_spec_file_path_too_long_or_a_loop(invoke: Invoke, workdir: Path) -> None:
    name = "b" * 300 + ".toml"
    assert refused(invoke, workdir, "validate", name) == (
        f"{'b' * 30}...bbbbb.toml: the spec file's path has a 305-byte component; expected at most 255 bytes each"
    )
    (workdir / "loop1").symlink_to("loop2")
    (workdir / "loop2").symlink_to("loop1")
    assert refused(invoke, workdir, "validate", "loop1") == (
        "loop1: the spec file's path is a symlink loop; expected a path that leads to a file or folder"
    )
    assert refused(invoke, workdir, "validate", str(workdir)).endswith(
        "the spec file's path is a folder; expected a spec file (TOML)"
    )


def test_data_path_nul_long_or_a_loop(invoke: Invoke, workdir: Path) -> None:
    (workdir / "loop1").symlink_to("loop2")
    (workdir / "loop2").symlink_to("loop1")
    path = workdir / "npz.toml"
    path.write_text('[data]\ndataset = "npz"\npath = "a\\u0000b.npz"\n')
    line = refused(invoke, workdir, "validate", str(path))
    assert line.startswith(f"{path}: data.path: ") and "contains a NUL character" in line
    path.write_text('[data]\ndataset = "npz"\npath = "loop1/x.npz"\n')
    assert refused(invoke, workdir, "validate", str(path)).startswith(
        f"{path}: data.path: '{workdir}/loop1/x.npz' is a symlink loop"
    )
    line = refused(invoke, workdir, "validate", str(path), "--set", "data.path=" + "c" * 300)
    assert line.startswith("--set: data.path: ") and line.endswith("is too long a name for the file system")


def test_storage_whose_parent_is_a_file(invoke: Invoke, spec: Path, workdir: Path) -> None:
    line = refused(invoke, workdir, "validate", str(spec), "--set", "study.storage=/etc/passwd/x.journal")
    assert line == "--set: study.storage: cannot write the journal: '/etc/passwd' is a file, not a folder"
    (workdir / "plain").write_text("keep")
    text = SPEC.replace("n_trials = 1\n", f'n_trials = 1\nstorage = "{workdir}/plain/x.journal"\n')
    spec.write_text(text)
    assert refused(invoke, workdir, "run", str(spec)) == (
        f"{spec}: study.storage: cannot write the journal: '{workdir}/plain' is a file, not a folder"
    )


def test_storage_with_a_nul(invoke: Invoke, spec: Path, workdir: Path) -> None:
    spec.write_text(SPEC.replace("n_trials = 1\n", 'n_trials = 1\nstorage = "/tmp/x\\u0000y.journal"\n'))
    line = refused(invoke, workdir, "validate", str(spec))
    assert line.startswith(f"{spec}: study.storage: ") and "contains a NUL character" in line


def test_unreachable_database_storage(invoke: Invoke, spec: Path, workdir: Path, closed_port: int) -> None:
    url = f"postgresql://cnn:secret@127.0.0.1:{closed_port}/study"
    line = refused(invoke, workdir, "validate", str(spec), "--set", f"study.storage={url}")
    assert line.startswith(
        f"--set: study.storage: cannot connect to postgresql://cnn:***@127.0.0.1:{closed_port}/study within 5 s: "
    )
    assert "Connection refused" in line and "secret" not in line


def test_unknown_tracking_scheme(invoke: Invoke, spec: Path, workdir: Path) -> None:
    line = refused(invoke, workdir, "validate", str(spec), "--set", "tracking.tracking_uri=nonsense://x")
    assert line == (
        "--set: tracking.tracking_uri: unknown scheme 'nonsense://' in 'nonsense://x'; "
        "expected sqlite:///FILE, postgresql://, mysql://, http(s)://SERVER or a folder"
    )


def test_tracking_server_that_does_not_answer(invoke: Invoke, spec: Path, workdir: Path, closed_port: int) -> None:
    uri = f"http://127.0.0.1:{closed_port}"
    for command in ("validate", "run"):
        assert refused(invoke, workdir, command, str(spec), "--set", f"tracking.tracking_uri={uri}") == (
            f"--set: tracking.tracking_uri: no MLflow server answers at {uri} within 3 s (Connection refused); "
            "is it running?"
        )


def test_tracking_uri_from_the_environment(
    invoke: Invoke, spec: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nonsense://x")
    assert refused(invoke, workdir, "validate", str(spec)).startswith(
        "$MLFLOW_TRACKING_URI: unknown scheme 'nonsense://'"
    )


HINT = " (cnnsearch's local store, mlruns/ in the working folder: move it aside, or run elsewhere)"


def test_mlruns_is_a_file(invoke: Invoke, spec: Path, workdir: Path) -> None:
    (workdir / "mlruns").write_text("someone's notes")
    for command in (["validate"], ["run"], ["trials"], ["best"], ["best", "--export"], ["report"]):
        line = refused(invoke, workdir, command[0], str(spec), *command[1:])
        assert line == "'mlruns' is a file, not a folder" + HINT, command


def test_mlruns_artifacts_is_a_file(invoke: Invoke, spec: Path, workdir: Path) -> None:
    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "artifacts").write_text("")
    for command in ("validate", "run", "report"):
        assert refused(invoke, workdir, command, str(spec)) == "'mlruns/artifacts' is a file, not a folder" + HINT


def test_mlflow_db_that_is_not_sqlite(invoke: Invoke, spec: Path, workdir: Path) -> None:
    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "mlflow.db").write_bytes(b"\x00garbage, not a database" * 10)
    expected = (
        "'mlruns/mlflow.db' is not an SQLite database (it starts with b'\\x00garbage', not b'SQLite format 3')" + HINT
    )
    for command in (["validate"], ["run"], ["report"], ["best", "--export"]):
        assert refused(invoke, workdir, command[0], str(spec), *command[1:]) == expected, command


def test_read_only_commands_leave_a_healthy_empty_folder_alone(invoke: Invoke, spec: Path, workdir: Path) -> None:
    before = snapshot(workdir)
    line = invoke.error_line("best", str(spec))
    assert "no study named 'tiny'" in line
    assert {k for k in snapshot(workdir) if not k.startswith("mlruns")} == set(before)
