"""Faults of the machine, not of the trial: a full disk, a folder that cannot be written, a lost database.

A trial that fails for its own reasons (NaN loss, out of memory, a bad hypermodel)
fails alone and the study goes on. These faults would fail every following trial
the same way after a full training each, so the study stops at the first one,
with one line naming the path and what failed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from cnnsearch.errors import CnnsearchError, first_line

#: ``OSError`` numbers that no retry of the trial can fix.
INFRA_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # disk full
        errno.EDQUOT,  # quota exceeded
        errno.EFBIG,  # file too large for the file system (or the process's limit)
        errno.EROFS,  # read-only file system
        errno.EACCES,  # permission denied
        errno.EPERM,
        errno.ENOTDIR,  # a file where a folder should be
        errno.EISDIR,
        errno.EEXIST,  # mkdir of a folder that is a file
        errno.EIO,
    }
)
#: SQLAlchemy errors of a database that went away (not "database is locked": that passes).
_DATABASE_ERRORS = frozenset({"OperationalError", "InterfaceError", "DatabaseError"})


class InfrastructureFault(CnnsearchError):
    """The study stopped at once: the machine, not the trial, is at fault."""


def infrastructure_fault(exc: BaseException) -> str | None:
    """One line on what failed, when ``exc`` (or an error it came from) is a fault of the machine."""
    for error in _chain(exc):
        if isinstance(error, OSError):
            code, path, text = error.errno, error.filename, first_line(error)
            if code is None:  # h5py (Keras weights) may give the C errno in the message only
                match = re.search(r"errno = (\d+)", text)
                code = int(match.group(1)) if match else None
            if path is None:  # and the file's name
                named = re.search(r"name = '([^']*)'", text)
                path = named.group(1) if named else None
            if code in INFRA_ERRNOS:
                where = f": {path}" if path else ""
                return f"{os.strerror(code)} ({errno.errorcode[code]}){where}"
        name, module = type(error).__name__, type(error).__module__
        if name == "StorageInternalError" or (module.startswith("sqlalchemy") and name in _DATABASE_ERRORS):
            text = first_line(error)
            if "locked" not in text:
                return f"the study database failed ({name}): {text}"[:500]
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and those it was raised from or while handling (a cleanup's error hides the first)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        todo += [e for e in (error.__context__, error.__cause__) if e is not None]


def fault_stop_message(number: int | None, fault: str) -> str:
    """Why the study stopped on a fault that is not the trial's (disk, store, storage): no retry would help."""
    trial = f" at trial {number}" if number is not None else ""
    return f"stopped{trial} (not the trial's fault, so not retried): {fault}; fix it and run again to resume"


def check_writable(folder: Path, what: str) -> None:
    """Write (and remove) a small file where ``folder`` is or will be, so a search that could not
    keep its results stops before training. Creates no folder: its nearest existing one is probed."""
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    probe = existing / f".cnnsearch-probe-{uuid.uuid4().hex}"
    try:
        os.listdir(existing)  # a file where the folder should be: NotADirectoryError
        with open(probe, "xb") as handle:
            handle.write(bytes(65536))  # a full disk refuses blocks, not always an empty file
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        fault = infrastructure_fault(exc) or f"{exc.strerror or first_line(exc)}: {exc.filename or existing}"
        raise InfrastructureFault(f"{folder}: cannot write {what}: {fault}") from None
