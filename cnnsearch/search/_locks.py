"""One lock per study, shared by every process that works on it.

Two things must happen once per study however many workers start together:
creating the MLflow parent run, and deciding whether one more trial is still
needed (so N workers stop at exactly ``n_trials``). Optuna has no
compare-and-set, so those short sections run under this lock:

- journal file storage (one machine): ``flock`` on a file beside the journal;
- PostgreSQL: a session advisory lock;  MySQL: ``GET_LOCK``;
- SQLite: ``flock`` on a file beside the database.

Every kind is released by the operating system or the database server when its
holder dies, even by SIGKILL, so a crashed worker never blocks the others.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from cnnsearch._databases import sqlalchemy_url
from cnnsearch._paths import study_journal
from cnnsearch.spec import Spec

_ENGINES: dict[str, object] = {}


def journal_path(spec: Spec) -> Path | None:
    """The study's journal file, or None when the study lives in a database."""
    url = spec.study.storage
    if url is None:
        return study_journal(spec.study.name)
    return Path(url) if url.endswith(".journal") else None


@contextlib.contextmanager
def study_lock(spec: Spec) -> Iterator[None]:
    """Hold the study's lock for the duration of the block (blocking until it is free)."""
    path = journal_path(spec)
    url = spec.study.storage or ""
    if path is not None:
        # Not "<journal>.lock": Optuna's own journal lock is a symlink of that name.
        with _file_lock(path.with_name(path.name + ".study-lock")):
            yield
    elif url.startswith("sqlite:///"):
        with _file_lock(Path(url.removeprefix("sqlite:///") + f".{_key(spec)}.study-lock")):
            yield
    elif url.startswith(("postgresql", "mysql")):
        with _database_lock(url, spec):
            yield
    else:  # another database: no portable lock; the race it guards is a one-trial overshoot
        yield


def _key(spec: Spec) -> int:
    """A stable signed 63-bit key for this study (advisory locks take integers)."""
    digest = hashlib.sha256(f"cnnsearch:{spec.study.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _database_lock(url: str, spec: Spec) -> Iterator[None]:
    import sqlalchemy

    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = sqlalchemy.create_engine(sqlalchemy_url(url), poolclass=sqlalchemy.pool.NullPool)
    postgres = url.startswith("postgresql")
    with engine.connect() as conn:  # type: ignore[attr-defined]
        if postgres:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": _key(spec)})
        else:
            conn.execute(sqlalchemy.text("SELECT GET_LOCK(:k, -1)"), {"k": f"cnnsearch:{_key(spec)}"})
        try:
            yield
        finally:
            if postgres:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": _key(spec)})
            else:
                conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:k)"), {"k": f"cnnsearch:{_key(spec)}"})
