"""Where cnnsearch keeps its files by default, relative to the working directory.

A leaf: it imports nothing from cnnsearch. Every default location is derived here
from a study's name, made safe for a file name by :func:`safe_name`.
"""

from __future__ import annotations

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
