"""The ``cnnsearch`` command line: a thin Typer app over :mod:`cnnsearch.api`.

Each command parses its options, calls one API function and formats the result.
Heavy imports (Keras, Optuna, MLflow) happen inside the API functions, so ``--help``
and ``validate`` are fast. Domain errors print one line and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cnnsearch import api
from cnnsearch.errors import CnnsearchError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Declarative hyperparameter search for Keras CNNs (Optuna + MLflow).",
)


def _print_version(value: bool) -> None:
    if value:
        from cnnsearch import __version__

        typer.echo(f"cnnsearch {__version__}")
        raise typer.Exit()


@app.callback()
def _every_command(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    # A crash inside TensorFlow's C++ then prints the Python stack to stderr instead of nothing.
    with contextlib.suppress(ValueError, OSError):  # a stderr without a file descriptor (CliRunner)
        faulthandler.enable()


SpecArg = Annotated[Path, typer.Argument(help="The search spec, a TOML file.", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set",
        "-s",
        metavar="SECTION.KEY=VALUE",
        help="Override a spec field without editing the file (repeatable), e.g. --set study.n_trials=5",
    ),
]


class SpecFormat(str, Enum):
    toml = "toml"
    json = "json"


class RecordFormat(str, Enum):
    table = "table"
    json = "json"


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors into one line on stderr and exit 1; Ctrl-C into exit 130."""
    try:
        yield
    except CnnsearchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: finished trials are saved; run the same command again to resume.", err=True)
        raise typer.Exit(130) from None


@app.command()
def validate(
    spec: SpecArg,
    set_: SetOpt = None,
    format: Annotated[SpecFormat, typer.Option("--format", "-f", help="Output format.")] = SpecFormat.toml,
) -> None:
    """Check a spec and print it resolved, with every default filled in."""
    with user_errors():
        resolved = api.validate(spec, set_ or [])  # also what `run` needs beyond the spec's fields
        typer.echo(api.spec_text(resolved, format.value), nl=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of spec files, for completion and checking in editors (taplo, Even Better TOML)."""
    typer.echo(api.spec_schema(), nl=False)


@app.command()
def run(
    spec: SpecArg,
    set_: SetOpt = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Train in N worker processes sharing the study (spread over GPUs). "
            "Default: in this process, or one recycled worker if study.trials_per_worker is set.",
        ),
    ] = None,
) -> None:
    """Run (or resume) the search a spec describes; every trial is logged to MLflow."""
    with user_errors():
        api.run(spec, overrides=set_ or [], workers=workers, progress=True)


@app.command(hidden=True)
def worker(
    spec: SpecArg,
    set_: SetOpt = None,
    slot: Annotated[int, typer.Option(help="Worker index (GPU placement, sampler seed).")] = 0,
    since: Annotated[float, typer.Option(help="Session start (Unix time), for the failure streak.")] = 0.0,
    trials: Annotated[int, typer.Option(help="Exit after this many trials (0: never), to be recycled.")] = 0,
) -> None:
    """One worker process of `cnnsearch run --workers N`, which starts it."""
    with user_errors():
        api.serve_worker(spec, overrides=set_ or [], slot=slot, since=since, max_trials=trials or None)


@app.command()
def trials(
    spec: SpecArg,
    set_: SetOpt = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    state: Annotated[
        Optional[list[str]],
        typer.Option("--state", help="Only trials in this state (repeatable): COMPLETE, PRUNED, FAIL, RUNNING."),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="number, value (best first) or duration_s.")] = "number",
    top: Annotated[Optional[int], typer.Option("--top", min=1, help="Show only the first N after sorting.")] = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Every column (run, diagnosis, all params, note), however long the lines."),
    ] = False,
    front: Annotated[
        bool, typer.Option("--front", help="Only the front: feasible trials that no other beats on every objective.")
    ] = False,
) -> None:
    """List the study's trials, one line each: state, value, duration, epochs, params (what fits the terminal)."""
    with user_errors():
        resolved = api.validate(spec, set_ or [], write=False, tracking=False)
        frame = api.trials(resolved, states=state, sort=sort, top=top, front=front)
        if format == TableFormat.csv:
            typer.echo(frame.to_csv(index=False), nl=False)
        elif format == TableFormat.json:
            typer.echo(api.trials_json(frame))
        else:
            from rich.console import Console

            console = Console(highlight=False)
            for line in api.trials_lines(resolved, frame, width=console.width, wide=wide, front=front):
                console.print(line, soft_wrap=True)  # lines were fitted to the width already (or --wide)


@app.command()
def report(
    spec: SpecArg,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many of the best trials to show with their curves.")
    ] = 5,
) -> None:
    """Write one self-contained HTML page: study plots, top trials with their curves, diagnoses."""
    with user_errors():
        result = api.report(spec, out, overrides=set_ or [], top=top)
        labels = ", ".join(f"{n} {label}" for label, n in result.diagnoses.most_common()) or "no diagnoses yet"
        size = result.path.stat().st_size / 1e6
        typer.echo(f"wrote {result.path} ({size:.1f} MB): {result.trials} trials; {labels}")


@app.command()
def best(
    spec: SpecArg,
    directory: Annotated[
        Optional[Path],
        typer.Argument(help="With --export: where to write (default exports/<study name>/).", show_default=False),
    ] = None,
    set_: SetOpt = None,
    export: Annotated[
        bool, typer.Option("--export", help="Retrain the best trial on train + validation, test it, export it.")
    ] = False,
    formats: Annotated[
        str, typer.Option("--formats", help="With --export: keras, saved_model, onnx, tflite (comma-separated) or all.")
    ] = "all",
    format: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = RecordFormat.table,
    pick: Annotated[
        Optional[str],
        typer.Option(
            "--pick",
            help="A trial of the front instead: 'latency_ms<=5' (the most accurate meeting it; comma-separated "
            "conditions on costs or the metric) or 'trial=N'. Default: the most accurate feasible trial.",
        ),
    ] = None,
) -> None:
    """Print the best trial: value, params, trial number and its MLflow run; --export [DIR] ships it."""
    with user_errors():
        if directory is not None and not export:
            raise CnnsearchError(f"'{directory}': an output folder needs --export (cnnsearch best SPEC --export DIR)")
        resolved = api.validate(spec, set_ or [], write=export, tracking=export)
        api.check_formats(formats)  # a bad --formats fails before anything is printed
        record = api.best(resolved, pick=pick)
        if format == RecordFormat.table:
            for line in api.best_lines(record, picked=pick is not None):
                typer.echo(line)
        if export:
            quiet = format == RecordFormat.json  # progress to stderr when stdout carries JSON

            def say(line: str) -> None:
                typer.echo(line, err=quiet)

            summary = api.export_best(resolved, directory, formats=formats, say=say, pick=pick).summary()
            say(f"Exported to {summary['directory']}/: {', '.join(summary['formats'])} + model_card.md/json")
            champion = " (alias champion)" if summary.get("champion") else ""
            say(
                f"MLflow: model '{summary['registered_model']}' version {summary['version']}{champion}"
                f" (run {summary['run_id']})"
            )
            record["export"] = summary
        if format == RecordFormat.json:
            typer.echo(json.dumps(record, indent=2))


@app.command()
def predict(
    export_dir: Annotated[Path, typer.Argument(help="An export folder (from best --export).", show_default=False)],
    images: Annotated[list[Path], typer.Argument(help="Image files or folders of images.", show_default=False)],
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="How many classes to show per image.")] = 3,
    format: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = RecordFormat.table,
) -> None:
    """Top-k classes with probabilities for each image; exit 1 if any file could not be predicted."""
    with user_errors():
        results = api.predict(export_dir, images, top=top)
        if format == RecordFormat.json:
            typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
        elif any(r.error is None for r in results):  # no header over a table of errors only
            width = max(len("file"), *(len(r.file) for r in results if r.error is None))
            typer.echo(f"{'file':<{width}}  top {top} classes (probability)")
            for r in results:
                if r.error is None:
                    shown = "  ".join(f"{c} {p:.3f}" for c, p in r.top)
                    typer.echo(f"{r.file:<{width}}  {shown}")
        failed = [r for r in results if r.error is not None]
        for r in failed:
            typer.echo(f"error: {r.file}: {r.error}", err=True)
        if failed:
            raise typer.Exit(1)


@app.command()
def ui(
    spec: SpecArg,
    set_: SetOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5000,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the server to answer before giving up.")
    ] = 120.0,
) -> None:
    """Start the MLflow UI on the spec's tracking store; once it answers, print the URL of its experiment."""
    with user_errors():
        code = api.ui(spec, overrides=set_ or [], host=host, port=port, timeout=timeout, say=typer.echo, note=_note)
    raise typer.Exit(code)


@app.command()
def serve(
    spec: SpecArg,
    set_: SetOpt = None,
    version: Annotated[
        Optional[str],
        typer.Option("--version", "-v", help="Registry version (default: the champion, else the latest)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5001,
) -> None:
    """Serve the study's registered model over HTTP (mlflow models serve); print its URL and input contract."""
    with user_errors():
        api.serve(spec, overrides=set_ or [], version=version, host=host, port=port, say=typer.echo, note=_note)


def _note(line: str) -> None:
    """Progress and notes go to stderr, so stdout carries only what a script reads."""
    typer.echo(line, err=True)
