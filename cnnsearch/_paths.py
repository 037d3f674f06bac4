"""Where cnnsearch keeps its files by default, relative to the working directory.

A leaf: it imports nothing from cnnsearch. Every default location is derived here
from a study's name, made safe for a file name by :func:`safe_name`.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

#: Runtime files (MLflow store, artifacts, study journals, weights, logs) live here.
HOME = Path("mlruns")
#: `cnnsearch best --export` writes to EXPORTS / <study name> by default.
EXPORTS = Path("exports")


def safe_name(name: str) -> str:
    """A study name as one file-name component: anything but letters, digits, ``_.-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def study_journal(name: str, home: Path = HOME) -> Path:
    """The default Optuna journal file of study ``name``."""
    return home / "studies" / f"{safe_name(name)}.journal"


def weights_dir(name: str, home: Path = HOME) -> Path:
    """Where the top-k trials of study ``name`` keep their weights."""
    return home / "weights" / safe_name(name)


def logs_dir(name: str, home: Path = HOME) -> Path:
    """Worker logs of study ``name`` (``cnnsearch run --workers N``)."""
    return home / "logs" / safe_name(name)


def mlflow_db(home: Path = HOME) -> Path:
    """The default MLflow store, a SQLite file."""
    return home / "mlflow.db"


def export_dir(name: str) -> Path:
    return EXPORTS / name


# --- checks a run needs before it starts (validate runs them too) -------------------------
#
# Each returns why the path cannot serve, in words that follow the path in a message, or None.
# They create nothing, so ``validate`` leaves the folder as it found it.

#: Most file systems refuse a file-name component longer than this many bytes (ENAMETOOLONG).
MAX_NAME_BYTES = 255
#: The longest suffix cnnsearch adds to a study's safe name (``.journal.study-lock``, the
#: ``.journal.torn-<time>`` copy of a torn record, Optuna's ``.journal.lock``), with room to spare.
NAME_SUFFIX_BYTES = 55
#: So a study name may have at most this many bytes.
MAX_STUDY_NAME_BYTES = MAX_NAME_BYTES - NAME_SUFFIX_BYTES
#: The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


def shown(path: str | Path, width: int = 60) -> str:
    """A path for a message: components too long to read are cut in the middle."""
    parts = [p if len(p) <= width else f"{p[: width // 2]}...{p[-10:]}" for p in os.fspath(path).split("/")]
    return "/".join(parts).replace("\x00", "\\0")


def name_problem(name: str) -> str | None:
    """Why a study name cannot name its files (journal, weights folder, export folder), or None."""
    size = len(safe_name(name).encode())
    if size > MAX_STUDY_NAME_BYTES:
        return (
            f"{size} characters is too long: its journal, weights and export file names must stay within "
            f"{MAX_NAME_BYTES} bytes; expected at most {MAX_STUDY_NAME_BYTES} characters"
        )
    return None


def path_problem(path: str | Path) -> str | None:
    """Why a path is not well-formed (NUL character, a component over 255 bytes, too long, a symlink loop)."""
    text = os.fspath(path)
    if "\x00" in text:
        return "contains a NUL character; expected a path without one"
    for part in text.split("/"):
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            return f"has a {len(os.fsencode(part))}-byte component; expected at most {MAX_NAME_BYTES} bytes each"
    try:
        os.stat(text)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop; expected a path that leads to a file or folder"
        if exc.errno == errno.ENAMETOOLONG:
            return "is too long for this system (ENAMETOOLONG)"
    return None


def resolved(path: str | Path) -> Path:
    """``path`` made absolute and free of symlinks, or just absolute where that fails (a loop, a NUL),
    so the check that follows names the real problem instead of a traceback."""
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(os.fspath(path)))


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (as anything, even a dangling link)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".") if not path.is_absolute() else Path("/")


def _unwritable(folder: Path) -> str | None:
    """Why files cannot be created in an existing folder (a read-only file system, no permission)."""
    if not folder.is_dir():
        return f"'{shown(folder)}' is {'a broken link' if not folder.exists() else 'a file'}, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        return f"'{shown(folder)}' is on a read-only file system" if read_only else f"'{shown(folder)}' is not writable"
    return None


def folder_problem(path: str | Path) -> str | None:
    """Why ``path`` is not, and cannot be made, a writable folder; None if it is or can be.

    The message names the culprit (the folder, or the parent that is a file), quoted.
    """
    return path_problem_named(path) or _unwritable(_existing_ancestor(Path(path)))


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` is not, and cannot be created as, a writable regular file; None if it is or can be."""
    problem = path_problem_named(path)
    if problem:
        return problem
    path = Path(path)
    if path.is_dir():
        return f"'{shown(path)}' is a folder, not a file"
    if path.is_file():
        return _unwritable(path.parent) or (None if os.access(path, os.W_OK) else f"'{shown(path)}' is not writable")
    return folder_problem(path.parent)


def path_problem_named(path: str | Path) -> str | None:
    """:func:`path_problem`, with the path quoted in front."""
    problem = path_problem(path)
    return f"'{shown(path)}' {problem}" if problem else None


def sqlite_problem(path: str | Path) -> str | None:
    """Why an existing file is not an SQLite database (an empty file is one: SQLite fills it); None if it is."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"'{shown(path)}' cannot be read ({exc.strerror})"
    if head and head != SQLITE_MAGIC:
        return f"'{shown(path)}' is not an SQLite database (it starts with {head[:8]!r}, not {SQLITE_MAGIC[:15]!r})"
    return None


def home_problem(name: str, home: Path = HOME) -> str | None:
    """Why cnnsearch's folder (``mlruns/``), a sub-folder this study writes to, or the MLflow store
    in it cannot serve; None if each is fine or can be created."""
    for folder in (home, home / "studies", weights_dir(name, home), home / "artifacts", logs_dir(name, home)):
        problem = folder_problem(folder)
        if problem:
            return problem
    db = mlflow_db(home)
    return file_problem(db) or sqlite_problem(db)


def spec_file_problem(path: str | Path) -> str | None:
    """Why the spec file named on the command line cannot be read, or None (the loader says "no such file")."""
    problem = path_problem(path)
    if problem:
        return problem
    if os.path.isdir(path):
        return "is a folder; expected a spec file (TOML)"
    if os.path.exists(path) and not os.path.isfile(path):
        return "is not a regular file (a FIFO, socket or device); expected a spec file (TOML)"
    if os.path.isfile(path) and not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None
