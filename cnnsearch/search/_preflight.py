"""Can the study's storage be used? Checked by ``validate`` and at the start of ``run``, before
any training, so a bad storage is one line instead of a traceback after the first trial.

Imports neither Optuna nor the storage code (``validate`` stays fast): a journal is checked
on the file system, creating nothing; a database is reached with SQLAlchemy and a short
connect timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnsearch._databases import database_problem, sqlite_file
from cnnsearch._paths import file_problem, name_problem, path_problem_named, shown, sqlite_problem, study_journal
from cnnsearch.spec import Spec


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
