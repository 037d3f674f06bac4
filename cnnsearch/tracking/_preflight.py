"""Can the spec's MLflow store be used? Checked by ``validate`` and at the start of ``run``.

Without this an unknown scheme fails at the first trial, and an unreachable server makes
MLflow retry for minutes without a word. Imports no MLflow: a server is asked over HTTP
with a short timeout, a database is reached as the study's storage is, the local store is
checked on the file system without creating anything.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import metadata
from urllib.parse import urlparse

from cnnsearch._databases import database_problem, masked, sqlite_file
from cnnsearch._paths import HOME, folder_problem, home_problem, mlflow_db, name_problem, sqlite_problem
from cnnsearch.search import storage_problem
from cnnsearch.spec import Spec
from cnnsearch.tracking._client import default_tracking_uri, tracking_uri

#: Seconds a tracking server has to answer ``/health``.
ANSWER_TIMEOUT_S = 3.0
#: Schemes MLflow's own tracking stores take (plugins add theirs, read from entry points).
MLFLOW_SCHEMES = frozenset(
    {"", "file", "http", "https", "databricks", "databricks-uc", "uc", "postgresql", "mysql", "sqlite", "mssql"}
)


def known_schemes() -> frozenset[str]:
    """MLflow's schemes plus those of installed tracking-store plugins."""
    try:
        plugins = {entry.name for entry in metadata.entry_points(group="mlflow.tracking_store")}
    except Exception:  # noqa: BLE001 - a broken package's metadata must not break validate
        plugins = set()
    return MLFLOW_SCHEMES | plugins


def scheme_of(uri: str) -> str:
    """The store kind of a URI: ``postgresql+psycopg://`` is ``postgresql``; a plain path is ``""``."""
    return urlparse(uri).scheme.split("+")[0].lower()


def tracking_problem(uri: str, *, local: bool, write: bool = True, study: str = "") -> str | None:
    """Why the MLflow store at ``uri`` cannot serve, or None.

    ``local``: ``uri`` is cnnsearch's default store (``mlruns/mlflow.db``); then ``mlruns/``
    and the folders of ``study`` are checked too. ``write``: also that it can be written (``run``,
    ``best --export``); read-only commands only need it to be what it claims to be.
    """
    scheme = scheme_of(uri)
    if scheme not in known_schemes():
        expected = "sqlite:///FILE, postgresql://, mysql://, http(s)://SERVER or a folder"
        return f"unknown scheme '{scheme}://' in '{masked(uri)}'; expected {expected}"
    if local:
        return home_problem_of(write, study)
    if scheme in ("http", "https"):
        return server_problem(uri)
    if scheme == "sqlite":
        db = sqlite_file(uri)
        if not write:
            return sqlite_problem(db) if db is not None else None
        return database_problem(uri)
    if scheme in ("postgresql", "mysql", "mssql"):
        return database_problem(uri)
    if scheme in ("", "file"):
        return folder_problem(urlparse(uri).path if scheme == "file" else uri) if write else None
    return None  # databricks and plugins: their own clients say what is wrong


def home_problem_of(write: bool, study: str = "") -> str | None:
    """The local store: folders (writable when ``write``) and an SQLite ``mlflow.db``."""
    if write:
        return home_problem(study, HOME)
    for folder in (HOME, HOME / "artifacts"):
        if os.path.lexists(folder) and not folder.is_dir():
            return f"'{folder}' is a file, not a folder"
    return sqlite_problem(mlflow_db())


def server_problem(uri: str, timeout_s: float = ANSWER_TIMEOUT_S) -> str | None:
    """None if an HTTP server answers at ``uri`` within ``timeout_s`` (any HTTP status will do:
    a proxy or an auth layer may refuse ``/health`` and still serve MLflow)."""
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):  # noqa: S310 - http(s) only, checked above
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, socket.timeout | TimeoutError):
            reason = "no answer"
        text = getattr(reason, "strerror", None) or str(reason)
        return f"no MLflow server answers at {masked(uri)} within {timeout_s:g} s ({text}); is it running?"


#: Said after a problem in ./mlruns, which no spec field names.
LOCAL_STORE_HINT = " (cnnsearch's local store, mlruns/ in the working folder: move it aside, or run elsewhere)"


def environment_problem(
    spec: Spec, source: str | None = None, overrides: Sequence[str] = (), *, write: bool = True, tracking: bool = True
) -> str | None:
    """The first reason the study's files, storage or MLflow store cannot serve it, as one line, or None.

    In order: ``mlruns/`` and the study's folders in it are folders, or can be created, and
    writable (``write``); the study name fits in file names and the journal can be written
    (or read), or the database accepts a connection within seconds; the tracking URI's scheme
    is known, its server answers within seconds, and a local ``mlflow.db`` is an SQLite file
    (``tracking``). A field is named after its ``source`` file, or ``--set`` if ``overrides`` set it.
    """
    set_keys = {item.partition("=")[0].strip() for item in overrides}

    def origin(field: str) -> str:
        return "--set" if field in set_keys else source or "<spec>"

    problem = name_problem(spec.study.name)  # first: every folder below is named after it
    if problem:
        return f"{origin('study.name')}: study.name: {problem}"
    if write:
        problem = home_problem(spec.study.name)
        if problem:
            return problem + LOCAL_STORE_HINT
    found = storage_problem(spec, write)
    if found:
        field, problem = found
        return f"{origin(field)}: {field}: {problem}" if field else problem + LOCAL_STORE_HINT
    if not tracking:
        return None
    uri = tracking_uri(spec)
    local = uri == default_tracking_uri()
    problem = tracking_problem(uri, local=local, write=write, study=spec.study.name)
    if problem is None:
        return None
    if spec.tracking.tracking_uri:
        return f"{origin('tracking.tracking_uri')}: tracking.tracking_uri: {problem}"
    return problem + LOCAL_STORE_HINT if local else f"$MLFLOW_TRACKING_URI: {problem}"
