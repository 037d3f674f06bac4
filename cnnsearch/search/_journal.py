"""A study journal checked before Optuna reads or appends to it, and appends that cannot tear it.

Optuna's ``JournalFileBackend`` keeps one JSON record per line and appends each
with one write under its lock (a symlink ``<journal>.lock``). A crash or a full
disk during that write leaves a torn last record. Optuna skips it when reading,
so the study silently lost its last change, and the next append glues a new
record onto the torn one: a broken line in the middle, and every later read is a
``JSONDecodeError``. So:

- :func:`check_journal`, on opening: every line must be a journal record. A torn
  last record is moved aside into ``<journal>.torn-<UTC time>`` and the journal
  cut back to its last complete record, under Optuna's own append lock, so a
  write still in progress is never mistaken for a torn one. Anything else that
  does not parse (corruption in the middle, a file that is no journal) is a
  :class:`CnnsearchError` naming the file and line, and the file is left as is.
- :class:`SafeJournalBackend`, for appends: a failed write (ENOSPC, ...) is cut
  back before the error propagates, and a tail torn by another process since the
  check is moved aside before anything is appended after it.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from cnnsearch.errors import CnnsearchError, first_line

#: Optuna's lock for appends: ``JournalFileSymlinkLock`` makes this symlink to the journal.
LOCK_SUFFIX = ".lock"


@dataclass(frozen=True)
class Repair:
    """A torn last record moved aside: where to, how many bytes, how many complete records stayed."""

    journal: Path
    torn: Path
    size: int
    lines: int

    def message(self) -> str:
        return (
            f"note: {self.journal}: last record was torn ({self.size} bytes, kept in {self.torn}); "
            f"cut back to line {self.lines}"
        )


def check_journal(path: Path, wait: bool = True) -> Repair | None:
    """Check every record of the journal at ``path``; repair a torn tail; say so on stderr.

    ``wait``: block for Optuna's append lock (a writer: ``run``, a worker). Without it
    (read-only commands) the tail is repaired only if the lock is free right now;
    a busy lock means a write may be in progress, so a torn-looking tail is left to it.
    """
    try:
        if not path.exists() or path.stat().st_size == 0:
            return None
        lock = JournalFileSymlinkLock(str(path))
        if wait:
            lock.acquire()
        elif not _try_lock(str(path)):
            scan(path.read_bytes(), path)  # still refuse a corrupt journal; the tail is the writer's
            return None
        try:
            data = path.read_bytes()
            keep = scan(data, path)
            if keep == len(data):
                return None
            repair = cut(path, keep, data.count(b"\n", 0, keep))
        finally:
            lock.release()
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and exc.filename != str(path) else ""
        raise CnnsearchError(
            f"{path}: cannot check the study journal: {exc.strerror or first_line(exc)}{where}"
        ) from None
    sys.stderr.write(repair.message() + "\n")
    sys.stderr.flush()
    return repair


def _try_lock(target: str) -> bool:
    """Take Optuna's append lock if it is free now (one try): its protocol is a symlink to the journal."""
    try:
        os.symlink(target, target + LOCK_SUFFIX)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.EACCES, errno.EPERM, errno.EROFS):
            return False  # held by a writer, or a folder we may only read: check, repair nothing
        raise
    return True


def scan(data: bytes, path: Path) -> int:
    """How many leading bytes of ``data`` are complete journal records (all of it when intact).

    Raises CnnsearchError when a bad line is followed by more lines, or when the bad
    last line cannot be the start of a record (so the file is no journal).
    """
    start, number = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start : end + 1]
        number += 1
        problem = _problem(line)
        if problem is not None:
            last = end < 0 or end + 1 == len(data)
            if last and not problem.startswith("JSON,") and _torn(line):  # a whole object is no torn record
                return start
            raise CnnsearchError(
                f"{path}: line {number} is not an Optuna journal record ({problem}); the file was left unchanged: "
                "restore it from a backup, or remove that line by hand to drop the record"
            )
        start = end + 1
    return len(data)


def _problem(line: bytes) -> str | None:
    """What is wrong with one line, or None for a journal record (a JSON object with an op_code)."""
    if not line.endswith(b"\n"):
        return "no line end"
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except ValueError as exc:
        return f"not JSON: {first_line(exc)}"
    if not isinstance(record, dict) or not isinstance(record.get("op_code"), int) or "worker_id" not in record:
        return "JSON, but no object with an op_code and a worker_id"
    return None


def _torn(line: bytes) -> bool:
    """Whether a bad last line can be a record cut short: Optuna writes ASCII JSON objects,
    and a file system may leave zeros where a crash interrupted the write."""
    text = line.rstrip(b"\n").rstrip(b"\x00")
    return not text or (text.isascii() and text.startswith(b"{"))


def cut(path: Path, keep: int, lines: int) -> Repair:
    """Move the bytes after ``keep`` into a ``.torn-<UTC time>`` file, then truncate (call under the lock).

    The torn bytes are on disk before the journal shrinks, so a crash in between loses nothing.
    """
    with open(path, "r+b") as journal:
        journal.seek(keep)
        tail = journal.read()
        torn = _torn_name(path)
        with open(torn, "xb") as handle:
            handle.write(tail)
            handle.flush()
            os.fsync(handle.fileno())
        journal.truncate(keep)
        journal.flush()
        os.fsync(journal.fileno())
    return Repair(path, torn, len(tail), lines)


def _torn_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    torn = path.with_name(f"{path.name}.torn-{stamp}")
    n = 1
    while torn.exists():
        torn = path.with_name(f"{path.name}.torn-{stamp}-{n}")
        n += 1
    return torn


class SafeJournalBackend(JournalFileBackend):
    """Optuna's journal file backend whose appends leave whole records only.

    Same file format and the same lock as ``JournalFileBackend``, so processes using
    either share a journal. Reading is Optuna's.
    """

    def __init__(self, file_path: str) -> None:
        self._append_lock = JournalFileSymlinkLock(file_path)
        super().__init__(file_path, self._append_lock)
        self._path = file_path

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        self._append_lock.acquire()
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND)
            try:
                end = os.lseek(fd, 0, os.SEEK_END)
                if end and os.pread(fd, 1, end - 1) != b"\n":  # a writer died mid-record since the check
                    tail = os.pread(fd, end, 0)
                    keep = tail.rfind(b"\n") + 1
                    repair = cut(Path(self._path), keep, tail.count(b"\n"))
                    sys.stderr.write(repair.message() + "\n")
                    end = keep
                _append(fd, data, end)
            finally:
                os.close(fd)
        finally:
            self._append_lock.release()


def _append(fd: int, data: bytes, end: int) -> None:
    """Write all of ``data`` at the end, or nothing: a failed or interrupted write is cut back to ``end``."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        try:
            os.ftruncate(fd, end)
        except OSError:
            pass  # the next check moves the torn record aside
        raise
