"""Database URLs shared by the study storage and the MLflow store: their files, their passwords
masked for messages, and whether a server accepts a connection. A leaf: it imports no layer."""

from __future__ import annotations

import re
from pathlib import Path

from cnnsearch._paths import file_problem, sqlite_problem
from cnnsearch.errors import first_line

#: Seconds a database server has to accept a connection before the check gives up.
CONNECT_TIMEOUT_S = 5
#: Drivers whose connect() takes a ``connect_timeout`` in seconds.
_TIMEOUT_DRIVERS = ("postgresql", "mysql", "mariadb")


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` through psycopg 3 (our dependency) whatever SQLAlchemy's default driver."""
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for an in-memory database or another URL)."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    path = rest.split("?")[0]
    return None if path in ("", ":memory:") else Path(path)


def masked(url: str) -> str:
    """A URL fit for a message: its password, if any, replaced by ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def database_problem(url: str, timeout_s: int = CONNECT_TIMEOUT_S) -> str | None:
    """Why a database URL cannot be used: an SQLite file that cannot be written or is not SQLite
    (checked without creating it), or a server that does not accept a connection within ``timeout_s``."""
    if url.split(":")[0].split("+")[0] == "sqlite":
        path = sqlite_file(url)
        if path is None:
            return None if url.startswith("sqlite://") else f"'{url}': expected sqlite:///path/to/file.db"
        problem = file_problem(path) or sqlite_problem(path)
        return f"cannot use the database file: {problem}" if problem else None
    try:
        import sqlalchemy

        parsed = sqlalchemy.engine.make_url(sqlalchemy_url(url))
        args = {"connect_timeout": timeout_s} if parsed.get_backend_name() in _TIMEOUT_DRIVERS else {}
        engine = sqlalchemy.create_engine(parsed, connect_args=args, poolclass=sqlalchemy.pool.NullPool)
    except Exception as exc:  # noqa: BLE001 - a malformed URL or a missing driver, in SQLAlchemy's words
        return f"cannot use '{masked(url)}' as a database URL: {first_line(exc)}"
    try:
        with engine.connect():
            return None
    except Exception as exc:  # noqa: BLE001 - each driver raises its own kinds
        return f"cannot connect to {masked(url)} within {timeout_s} s: {first_line(exc)}"
    finally:
        engine.dispose()
