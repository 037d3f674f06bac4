"""The study lock (a file lock beside a journal or SQLite file) and the SQLAlchemy URL it opens."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from cnnsearch.search import _locks as locks
from cnnsearch.search import study_lock
from cnnsearch.spec import Spec, validate_spec
from tests.helpers import wait_until


def _spec(storage: str | None = None, name: str = "locked") -> Spec:
    study = {"name": name} if storage is None else {"name": name, "storage": storage}
    return validate_spec({"study": study, "data": {"dataset": "digits"}})


def _held_elsewhere(path: Path) -> bool:
    """Whether another open file description holds ``path``'s flock (a non-blocking try, released at once)."""
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://user:pw@db.example:5432/optuna", "postgresql+psycopg://user:pw@db.example:5432/optuna"),
        ("postgresql+psycopg2://user@host/db", "postgresql+psycopg2://user@host/db"),  # a driver chosen: kept
        ("sqlite:///studies.db", "sqlite:///studies.db"),
        ("mysql+pymysql://user@host/db", "mysql+pymysql://user@host/db"),
    ],
)
def test_sqlalchemy_url_uses_psycopg_3_for_plain_postgresql(url: str, expected: str) -> None:
    assert locks.sqlalchemy_url(url) == expected


def test_journal_path_of_each_storage(tmp_path: Path) -> None:
    assert locks.journal_path(_spec(name="my study")) == Path("mlruns/studies/my_study.journal")
    assert locks.journal_path(_spec(str(tmp_path / "s.journal"))) == tmp_path / "s.journal"
    assert locks.journal_path(_spec(f"sqlite:///{tmp_path / 's.db'}")) is None
    assert locks.journal_path(_spec("postgresql://u@h/db")) is None


def test_study_lock_on_a_journal_is_exclusive_while_held(tmp_path: Path) -> None:
    journal = tmp_path / "studies" / "s.journal"
    lock_file = journal.with_name("s.journal.study-lock")  # not "<journal>.lock": Optuna's own lock is that
    spec = _spec(str(journal))
    with study_lock(spec):
        assert lock_file.is_file()
        assert _held_elsewhere(lock_file)
    assert not _held_elsewhere(lock_file)  # released on leaving the block
    with pytest.raises(RuntimeError, match="inside"), study_lock(spec):
        raise RuntimeError("inside")
    assert not _held_elsewhere(lock_file)  # released by an error too


def _waiters(path: Path) -> int:
    """How many flock requests on ``path`` the kernel holds back (``->`` lines of /proc/locks)."""
    inode = f":{path.stat().st_ino} "
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "-> FLOCK" in line and inode in line)


@pytest.mark.skipif(not Path("/proc/locks").is_file(), reason="reads the kernel's lock table (Linux)")
def test_a_second_holder_waits_for_the_first(tmp_path: Path) -> None:
    spec = _spec(str(tmp_path / "s.journal"))
    lock_file = tmp_path / "s.journal.study-lock"
    events: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait(10)
        with study_lock(spec):
            events.append("second in")

    thread = threading.Thread(target=second)
    thread.start()
    with study_lock(spec):
        events.append("first in")
        inside.set()
        # Leave only once the second holder is blocked on the lock, not after a guessed time.
        wait_until(lambda: _waiters(lock_file) or None, "the second holder to block on the lock", timeout=10)
        events.append("first out")
    thread.join(10)
    assert events == ["first in", "first out", "second in"]


def test_study_lock_on_sqlite_is_a_file_beside_the_database(tmp_path: Path) -> None:
    database = tmp_path / "optuna.db"
    spec = _spec(f"sqlite:///{database}")
    with study_lock(spec):
        held = list(tmp_path.glob("optuna.db.*.study-lock"))
        assert len(held) == 1 and _held_elsewhere(held[0])
    assert not _held_elsewhere(held[0])
    other = _spec(f"sqlite:///{database}", name="another study")
    with study_lock(other):  # another study in the same database: its own lock, not blocked by this one
        assert not _held_elsewhere(held[0])
