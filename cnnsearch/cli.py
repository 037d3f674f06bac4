"""The ``cnnsearch`` command line: a thin Typer app.

Heavy imports (Keras, Optuna, MLflow) happen inside commands, so ``--help`` and
``validate`` are fast. Domain errors print one line and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import contextlib
import json
import sys
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
def run(spec: SpecArg, set_: SetOpt = None) -> None:
    """Run (or resume) the search a spec describes; every trial is logged to MLflow."""
    with user_errors():
        resolved = load_spec(spec, set_ or [])
        from cnnsearch.runtime import load_keras

        backend = load_keras()
        from cnnsearch import study as study_module
        from cnnsearch.console import SearchConsole
        from cnnsearch.tracking import tracking_uri

        display = SearchConsole(resolved)
        out = display.console
        s = resolved.study
        out.print(
            f"Study [bold]{s.name}[/bold]: {s.n_trials} trials, {s.sampler} sampler, {s.pruner} pruner, "
            f"{s.direction} {s.metric} on {resolved.data.dataset} (Keras {backend} backend)"
        )
        with display:
            study = study_module.run(resolved, spec_path=spec, display=display)
        display.final_table(study)
        uri = tracking_uri(resolved)
        out.print(f"MLflow: mlflow ui --backend-store-uri {uri}   (experiment '{resolved.tracking.experiment}')")


def main() -> None:  # pragma: no cover - console entry for tools that want a function
    app(sys.argv[1:])
