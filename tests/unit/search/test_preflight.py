"""The study's storage is checked before any training, creating nothing: journal files on the file
system, SQLite files by their header, database servers with a short connect timeout."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnsearch._databases import database_problem, masked, sqlite_file
from cnnsearch.search._preflight import storage_problem
from cnnsearch.spec import validate_spec


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once, every time."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def spec_with(storage: str | None, name: str = "tiny"):
    study = {"name": name} if storage is None else {"name": name, "storage": storage}
    return validate_spec({"study": study, "data": {"dataset": "digits"}})


def test_default_journal_is_fine_and_nothing_is_created(workdir: Path) -> None:
    assert storage_problem(spec_with(None)) is None
    assert storage_problem(spec_with(None), write=False) is None
    assert list(workdir.iterdir()) == []


def test_journal_whose_parent_is_a_file(workdir: Path) -> None:
    (workdir / "plain").write_text("keep me")
    found = storage_problem(spec_with(str(workdir / "plain" / "x.journal")))
    assert found == ("study.storage", f"cannot write the journal: '{workdir}/plain' is a file, not a folder")
    assert storage_problem(spec_with(str(workdir / "plain" / "x.journal")), write=False) == (
        "study.storage",
        f"cannot read the journal: '{workdir}/plain' is a file, not a folder",
    )
    assert (workdir / "plain").read_text() == "keep me"


def test_default_journal_under_a_file_named_mlruns_is_reported_without_a_field(workdir: Path) -> None:
    (workdir / "mlruns").write_text("")
    assert storage_problem(spec_with(None)) == ("", "'mlruns' is a file, not a folder")


def test_study_name_too_long_for_its_journal() -> None:
    field, problem = storage_problem(spec_with(None, name="n" * 300)) or ("", "")
    assert field == "study.name" and "300 characters is too long" in problem


def test_sqlite_storage(workdir: Path) -> None:
    (workdir / "plain").write_text("")
    (workdir / "text.db").write_text("hello")
    sqlite3.connect(workdir / "real.db").close()
    assert storage_problem(spec_with(f"sqlite:///{workdir}/real.db")) is None
    assert storage_problem(spec_with(f"sqlite:///{workdir}/new/study.db")) is None
    assert not (workdir / "new").exists()
    assert storage_problem(spec_with(f"sqlite:///{workdir}/plain/study.db")) == (
        "study.storage",
        f"cannot use the database file: '{workdir}/plain' is a file, not a folder",
    )
    field, problem = storage_problem(spec_with(f"sqlite:///{workdir}/text.db"), write=False) or ("", "")
    assert field == "study.storage" and "is not an SQLite database" in problem
    assert (workdir / "text.db").read_text() == "hello"


def test_unreachable_database_fails_in_one_line_without_the_password(closed_port: int) -> None:
    problem = database_problem(f"postgresql://user:secret@127.0.0.1:{closed_port}/db", timeout_s=2)
    assert problem is not None
    assert problem.startswith(f"cannot connect to postgresql://user:***@127.0.0.1:{closed_port}/db within 2 s: ")
    assert "secret" not in problem and "\n" not in problem


def test_not_a_database_url() -> None:
    problem = database_problem("nonsense://x")
    assert problem is not None and problem.startswith("cannot use 'nonsense://x' as a database URL: ")


def test_sqlite_file_and_masked() -> None:
    assert sqlite_file("sqlite:////abs/x.db") == Path("/abs/x.db")
    assert sqlite_file("sqlite:///rel/x.db?timeout=5") == Path("rel/x.db")
    assert sqlite_file("sqlite:///:memory:") is None and sqlite_file("postgresql://h/db") is None
    assert masked("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
    assert masked("postgresql://h/db") == "postgresql://h/db"
