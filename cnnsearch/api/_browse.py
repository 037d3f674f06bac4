"""Look at a finished study: the HTML report, predictions with an export, the MLflow UI's command line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnsearch._paths import mlflow_db
from cnnsearch._runtime import load_keras
from cnnsearch.errors import CnnsearchError
from cnnsearch.spec import as_ran

if TYPE_CHECKING:
    from cnnsearch.export import Prediction

#: A spec file's path, or a spec already loaded.
from cnnsearch.api._search import SpecLike, load, validate


@dataclass(frozen=True)
class ReportResult:
    """What ``report`` wrote: the page, the trials on it, and their diagnoses."""

    path: Path
    trials: int
    diagnoses: Counter[str]


def report(
    spec: SpecLike,
    out: Path | str = "report.html",
    *,
    overrides: Sequence[str] = (),
    top: int = 5,
) -> ReportResult:
    """Write the study on one self-contained HTML page (plots, top trials with curves, diagnoses).

    Args:
        spec: The spec file (or a loaded Spec).
        out: The HTML file to write.
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.
        top: How many of the best trials to show with their curves.

    Returns:
        A ReportResult with the path written.

    Raises:
        CnnsearchError: no such study.

    Examples:
        >>> cnnsearch.report("search_spaces/digits.toml", "report.html").path.stat().st_size > 0
        True
    """
    from cnnsearch import search
    from cnnsearch._paths import export_dir
    from cnnsearch.export import shipped_figures
    from cnnsearch.reporting import summary_counts, write_report
    from cnnsearch.tracking import limit_http_retries, tracking_uri

    resolved = validate(spec, overrides, write=False)  # a damaged mlflow.db: one line, not a page without runs
    limit_http_retries()
    study = search.load_study(resolved)
    resolved = as_ran(resolved, study.metric_names)  # "auto" as the study resolved it
    shipped = shipped_figures(export_dir(resolved.study.name))  # the card's owner reads it
    path = write_report(study, resolved, Path(out), top, tracking_uri(resolved), shipped)
    return ReportResult(path, len(study.trials), summary_counts(study))


def predict(export_dir: Path | str, images: Sequence[Path | str], *, top: int = 3) -> list[Prediction]:
    """Top-k classes with probabilities for image files or folders, with an exported model.

    Args:
        export_dir: A folder written by ``export_best``.
        images: Image files, or folders searched for images.
        top: How many classes per image.

    Returns:
        One Prediction per file: its top classes, or the reason it could not be read.

    Raises:
        CnnsearchError: the folder is not an export.

    Examples:
        >>> [p.top[0] for p in cnnsearch.predict("exports/digits-cnn", ["seven.png"])]
    """
    load_keras()
    from cnnsearch.export import Predictor

    return Predictor(Path(export_dir)).predict([Path(p) for p in images], k=top)


def tracking_uri(spec: SpecLike, *, overrides: Sequence[str] = ()) -> str:
    """Where the spec's MLflow runs are: its ``tracking_uri``, ``$MLFLOW_TRACKING_URI`` or ``mlruns/mlflow.db``.

    Examples:
        >>> cnnsearch.api.tracking_uri("search_spaces/digits.toml").startswith("sqlite:///")
        True
    """
    from cnnsearch.tracking import tracking_uri as uri_of

    return uri_of(load(spec, overrides))


def ui_command(uri: str, host: str, port: int) -> list[str]:
    """The ``mlflow ui`` command line for a local store; CnnsearchError if the store does not exist yet.

    Examples:
        >>> cnnsearch.api.ui_command(cnnsearch.api.tracking_uri("search_spaces/digits.toml"), "127.0.0.1", 5000)[2:4]
        ['mlflow', 'ui']
    """
    from cnnsearch.tracking import default_tracking_uri, mlflow_ui_command

    if uri == default_tracking_uri() and not mlflow_db().is_file():
        raise CnnsearchError(f"no MLflow store at {mlflow_db()} yet: run `cnnsearch run` here first")
    return mlflow_ui_command(uri, host, port)


def ui(
    spec: SpecLike,
    *,
    overrides: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 5000,
    timeout: float = 120.0,
    say: Callable[[str], None] = print,
    note: Callable[[str], None] = print,
) -> int:
    """Start the MLflow UI on the spec's tracking store and serve until stopped; the exit code.

    ``say`` gets the lines for stdout (the URL once it answers), ``note`` the progress for stderr.
    SIGTERM and SIGHUP stop the server as Ctrl-C does, so no server outlives this call.
    """
    from cnnsearch.tracking import start_ui, stop_signals

    with stop_signals():
        resolved = load(spec, overrides)
        uri = tracking_uri(resolved)
        if uri.startswith(("http://", "https://")):
            say(f"MLflow server already serves this spec: {uri}")
            return 0
        name = resolved.tracking.experiment
        try:
            server = start_ui(ui_command(uri, host, port), host, port, name, timeout=timeout, say=note)
        except KeyboardInterrupt:
            note("interrupted: the MLflow UI was stopped before it answered.")
            return 130
        found = f"experiment '{name}'" if server.experiment_id else f"no experiment '{name}' in {uri} yet"
        say(f"MLflow UI: {server.url}  ({found}; Ctrl-C stops it)")
        return server.serve()


def serve(
    spec: SpecLike,
    *,
    overrides: Sequence[str] = (),
    version: str | None = None,
    host: str = "127.0.0.1",
    port: int = 5001,
    say: Callable[[str], None] = print,
    note: Callable[[str], None] = print,
) -> None:
    """Serve the study's registered model over HTTP (``mlflow models serve``) until stopped.

    ``say`` gets its URL and input contract once it answers; Ctrl-C or SIGTERM stop it (``note``
    says so). CnnsearchError: no registered model, or the server exited on its own.
    """
    from cnnsearch.tracking import ModelServer, served_version

    server = ModelServer(served_version(load(spec, overrides), version), host, port)
    try:
        with server.running():
            server.wait_ready()
            for line in server.describe():
                say(line)
            code = server.wait()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the server is stopped on leaving `running`
        note("stopped")
        return
    if code:
        raise CnnsearchError(f"mlflow models serve exited with code {code} (its log is above)")
