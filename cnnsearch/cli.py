"""The ``cnnsearch`` command line: a thin Typer app.

Heavy imports (Keras, Optuna, MLflow) happen inside commands, so ``--help`` and
``validate`` are fast. Domain errors print one line and exit 1; Ctrl-C exits 130.
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

from cnnsearch.errors import CnnsearchError
from cnnsearch.spec import load_spec, spec_to_dict, spec_to_toml

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Declarative hyperparameter search for Keras CNNs (Optuna + MLflow).",
)


@app.callback()
def _every_command() -> None:
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
        resolved = load_spec(spec, set_ or [])
        if format == SpecFormat.json:
            typer.echo(json.dumps(spec_to_dict(resolved), indent=2))
        else:
            typer.echo(spec_to_toml(resolved), nl=False)


@app.command()
def run(
    spec: SpecArg,
    set_: SetOpt = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers", "-w", min=1,
            help="Train in N worker processes sharing the study (spread over GPUs). "
            "Default: in this process, or one recycled worker if study.trials_per_worker is set.",
        ),
    ] = None,
) -> None:
    """Run (or resume) the search a spec describes; every trial is logged to MLflow."""
    with user_errors():
        resolved = load_spec(spec, set_ or [])
        from cnnsearch.runtime import load_keras

        backend = load_keras()
        from cnnsearch import study as study_module
        from cnnsearch.console import SearchConsole
        from cnnsearch.tracking import tracking_uri

        pool = workers or (1 if resolved.study.trials_per_worker else 0)
        if pool:
            from cnnsearch.supervisor import PoolConsole, run_workers

            display = PoolConsole(resolved, pool)
        else:
            display = SearchConsole(resolved)
        out = display.console
        s = resolved.study
        out.print(
            f"Study [bold]{s.name}[/bold]: {s.n_trials} trials, {s.sampler} sampler, {s.pruner} pruner, "
            f"{s.direction} {s.metric} on {resolved.data.dataset} (Keras {backend} backend)"
            + (f", {pool} worker process{'es' if pool > 1 else ''}" if pool else "")
        )
        with display:
            if pool:
                study = run_workers(resolved, spec, set_ or [], pool, display)  # type: ignore[arg-type]
            else:
                study = study_module.run(resolved, spec_path=spec, display=display)
        display.final_table(study)
        uri = tracking_uri(resolved)
        out.print(f"MLflow: mlflow ui --backend-store-uri {uri}   (experiment '{resolved.tracking.experiment}')")


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
        resolved = load_spec(spec, set_ or [])
        from cnnsearch.runtime import load_keras

        load_keras()
        from cnnsearch.worker import serve

        serve(resolved, slot, since, trials or None)


@app.command()
def trials(
    spec: SpecArg,
    set_: SetOpt = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    state: Annotated[
        Optional[list[str]], typer.Option("--state", help="Only trials in this state (repeatable): COMPLETE, PRUNED, FAIL, RUNNING.")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="number, value (best first) or duration_s.")] = "number",
    top: Annotated[Optional[int], typer.Option("--top", min=1, help="Show only the first N after sorting.")] = None,
) -> None:
    """List the study's trials: state, value, duration, where they stopped, MLflow run, params."""
    with user_errors():
        from cnnsearch.report import trials_frame
        from cnnsearch.study import load_study

        resolved = load_spec(spec, set_ or [])
        frame = trials_frame(load_study(resolved), resolved, state, sort, top)
        if format == TableFormat.csv:
            typer.echo(frame.to_csv(index=False), nl=False)
        elif format == TableFormat.json:
            typer.echo(frame.to_json(orient="records", indent=2))
        else:
            _print_frame(frame, title=f"Trials of '{resolved.study.name}'")


@app.command()
def report(
    spec: SpecArg,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the best trials to show with their curves.")] = 5,
) -> None:
    """Write one self-contained HTML page: study plots, top trials with their curves, diagnoses."""
    with user_errors():
        from cnnsearch.report_page import summary_counts, write
        from cnnsearch.study import load_study
        from cnnsearch.tracking import tracking_uri

        resolved = load_spec(spec, set_ or [])
        study = load_study(resolved)
        path = write(study, resolved, out, top, tracking_uri(resolved))
        labels = ", ".join(f"{n} {label}" for label, n in summary_counts(study).most_common()) or "no diagnoses yet"
        typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {len(study.trials)} trials; {labels}")


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
) -> None:
    """Print the best trial: value, params, trial number and its MLflow run; --export [DIR] ships it."""
    with user_errors():
        if directory is not None and not export:
            raise CnnsearchError(f"'{directory}': an output folder needs --export (cnnsearch best SPEC --export DIR)")
        resolved = load_spec(spec, set_ or [])
        from cnnsearch.formats import parse_formats
        from cnnsearch.report import best_record
        from cnnsearch.study import load_study

        chosen = parse_formats(formats)
        record = best_record(load_study(resolved), resolved)
        if format == RecordFormat.table:
            typer.echo(f"study       {record['study']}")
            typer.echo(f"best trial  {record['number']}  ({record['metric']} = {record['value']:.4f}, {record['direction']})")
            typer.echo(f"mlflow run  {record['mlflow_run_id']}")
            typer.echo(f"epochs run  {record['epochs_run']}")
            for name, value in record["params"].items():
                typer.echo(f"  {name:<22} {value}")
        if export:
            record["export"] = _export(resolved, directory, chosen, quiet=format == RecordFormat.json)
        if format == RecordFormat.json:
            typer.echo(json.dumps(record, indent=2))


def _export(resolved: object, directory: Optional[Path], formats: list[str], quiet: bool) -> dict[str, object]:
    """Run the export, progress on stdout (stderr when stdout carries JSON); a summary for --format json."""
    from cnnsearch.runtime import load_keras

    load_keras()
    from cnnsearch.export import export_best

    def say(line: str) -> None:
        typer.echo(line, err=quiet)

    result = export_best(resolved, directory, formats, say=say)  # type: ignore[arg-type]
    mlflow = result.card["mlflow"]
    say(f"Exported to {result.directory}/: {', '.join(a.format for a in result.agreements)} + model_card.md/json")
    say(f"MLflow: model '{mlflow['registered_model']}' version {mlflow['version']} (run {mlflow['run_id']})")
    return {
        "directory": str(result.directory),
        "test_accuracy": result.card["test"]["accuracy"],
        "formats": [a.format for a in result.agreements],
        "registered_model": mlflow["registered_model"],
        "version": mlflow["version"],
        "run_id": mlflow["run_id"],
    }


@app.command()
def predict(
    export_dir: Annotated[Path, typer.Argument(help="An export folder (from best --export).", show_default=False)],
    images: Annotated[list[Path], typer.Argument(help="Image files or folders of images.", show_default=False)],
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="How many classes to show per image.")] = 3,
    format: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = RecordFormat.table,
) -> None:
    """Top-k classes with probabilities for each image; exit 1 if any file could not be predicted."""
    with user_errors():
        from cnnsearch.runtime import load_keras

        load_keras()
        from cnnsearch.predict import Predictor

        results = Predictor(export_dir).predict(images, k=top)
        if format == RecordFormat.json:
            typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
        else:
            width = max(len("file"), *(len(r.file) for r in results))
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


def _print_frame(frame: object, title: str) -> None:
    """A table that fits an 80-column terminal: trial and run id, state and diagnosis stacked
    in two narrow columns; the params (and any note) fold into the remaining width."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("trial\nrun", justify="right", no_wrap=True)
    table.add_column("state\ndiagnosis", no_wrap=True)
    for column in ("value", "secs", "epochs"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("params", overflow="fold", ratio=1)
    for row in frame.to_dict("records"):  # type: ignore[attr-defined]
        note = "" if _missing(row["fail_reason"]) else f"[red]{escape(str(row['fail_reason']))}[/red]\n"
        if not _missing(row["pruned_epoch"]):
            note = f"[yellow]pruned at epoch {row['pruned_epoch']}[/yellow]\n"
        params = "  ".join(
            f"{k.removeprefix('params.')}={_fmt(v)}" for k, v in row.items() if k.startswith("params.") and not _missing(v)
        )
        diagnosis = "" if _missing(row.get("diagnosis")) else row["diagnosis"]
        table.add_row(
            f"{row['number']}\n[dim]{(row['mlflow_run_id'] or '')[:8]}[/dim]",
            f"{row['state']}\n[dim]{diagnosis}[/dim]",
            _fmt(row["value"]),
            _fmt(row["duration_s"]),
            _fmt(row["epochs_run"]),
            note + escape(params),
            end_section=True,
        )
    Console().print(table)


def _fmt(value: object) -> str:
    if _missing(value):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA: an empty cell."""
    import pandas as pd

    return value is None or bool(pd.isna(value))


@app.command()
def ui(
    spec: SpecArg,
    set_: SetOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5000,
) -> None:
    """Start the MLflow UI on the spec's tracking store and print the URL of its experiment."""
    import os
    import sys

    with user_errors():
        from cnnsearch.tracking import HOME, default_tracking_uri, tracking_uri

        resolved = load_spec(spec, set_ or [])
        uri = tracking_uri(resolved)
        if uri.startswith(("http://", "https://")):
            typer.echo(f"MLflow server already serves this spec: {uri}")
            return
        if uri == default_tracking_uri() and not (HOME / "mlflow.db").is_file():
            raise CnnsearchError(f"no MLflow store at {HOME / 'mlflow.db'} yet: run `cnnsearch run` here first")
        command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
        typer.echo(f"MLflow UI: http://{host}:{port}/#/experiments  (experiment '{resolved.tracking.experiment}'; Ctrl-C stops it)")
        sys.stdout.flush()
        # Become the MLflow process, so Ctrl-C and SIGTERM reach the server itself.
        os.execv(sys.executable, command)
