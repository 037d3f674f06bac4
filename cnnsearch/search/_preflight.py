"""Can the study's storage be used? Checked by ``validate`` and at the start of ``run``, before
any training, so a bad storage is one line instead of a traceback after the first trial.

Imports neither Optuna nor the storage code (``validate`` stays fast): a journal is checked
on the file system, creating nothing; a database is reached with SQLAlchemy and a short
connect timeout.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cnnsearch._paths import file_problem, name_problem, path_problem_named, shown, sqlite_problem, study_journal
from cnnsearch.errors import first_line
from cnnsearch.spec import Spec

#: Seconds a database server has to accept a connection before the check gives up.
CONNECT_TIMEOUT_S = 5
#: Drivers whose connect() takes a ``connect_timeout`` in seconds.
_TIMEOUT_DRIVERS = ("postgresql", "mysql", "mariadb")


def storage_problem(spec: Spec, write: bool = True) -> tuple[str, str] | None:
    """(field, why) when the study's storage cannot serve ``run`` (``write``) or be read, else None.

    The field is ``study.name`` (its journal's file name is too long), ``study.storage``,
    or "" for the default journal under ``mlruns/`` (the message then names the file).
    """
    problem = name_problem(spec.study.name)
    if problem:
        return "study.name", problem
    url = spec.study.storage
    check = file_problem if write else _unreadable
    if url is None:
        problem = check(study_journal(spec.study.name))
        return ("", problem) if problem else None
    if url.endswith(".journal") and "://" not in url:
        problem = check(Path(url))
        return ("study.storage", f"cannot {'write' if write else 'read'} the journal: {problem}") if problem else None
    if not write and sqlite_file(url) is not None:
        path = sqlite_file(url)
        problem = _unreadable(path) or sqlite_problem(path) if path is not None else None
        return ("study.storage", f"cannot use the database file: {problem}") if problem else None
    problem = database_problem(url)
    return ("study.storage", problem) if problem else None


def _unreadable(path: Path) -> str | None:
    """Why a file a read-only command opens cannot be there: a malformed path, a folder in its
    place, or a parent that is a file. A missing file is no problem here (the command says so)."""
    problem = path_problem_named(path)
    if problem:
        return problem
    if path.is_dir():
        return f"'{shown(path)}' is a folder, not a file"
    if path.is_file() and not os.access(path, os.W_OK) and path.name.endswith(".journal"):
        # Optuna's journal backend opens the file for appending even to read it.
        problem = file_problem(path)
        return f"{problem}; Optuna opens a journal for appending, even to read it"
    for parent in path.parents:
        if os.path.lexists(parent):
            return None if parent.is_dir() else f"'{shown(parent)}' is a file, not a folder"
    return None


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
    from cnnsearch.search._locks import sqlalchemy_url

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
