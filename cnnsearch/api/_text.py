"""What the CLI prints, as text: specs, trial tables and the best trial, formatted by the layers
that own them (spec, reporting, export), so the CLI needs no layer but this one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from cnnsearch.spec import Spec, spec_to_dict, spec_to_toml

if TYPE_CHECKING:
    import pandas as pd


def spec_text(spec: Spec, format: Literal["toml", "json"] = "toml") -> str:
    """The resolved spec, every default filled in: TOML (loads back to the same Spec) or JSON."""
    return json.dumps(spec_to_dict(spec), indent=2) + "\n" if format == "json" else spec_to_toml(spec)


def trials_json(frame: pd.DataFrame) -> str:
    """``trials`` rows as JSON, floats exact (pandas' ``to_json`` keeps at most 15 digits)."""
    from cnnsearch.reporting import json_records

    return json.dumps(json_records(frame), indent=2)


def trials_lines(spec: Spec, frame: pd.DataFrame, *, width: int, wide: bool = False, front: bool = False) -> list[Any]:
    """The ``trials`` table as rich lines fitted to ``width`` (or every column with ``wide``);
    ``front``: the front's trials with their costs, to choose from (``best --pick``)."""
    from cnnsearch.reporting import front_table, trials_table

    if front:
        title = f"Front of '{spec.study.name}' ({len(frame)} trials)"
        return front_table(frame, title, spec.study.metric, width=width, wide=wide)
    return trials_table(frame, f"Trials of '{spec.study.name}'", width=width, wide=wide)


def best_lines(record: dict[str, Any], *, picked: bool = False) -> list[str]:
    """The ``best`` record for people: value, MLflow run, epochs, export, costs and params."""
    from cnnsearch.reporting import best_record_lines

    return best_record_lines(record, picked=picked)


def check_formats(formats: str) -> None:
    """CnnsearchError naming a bad ``--formats`` item, before anything else is done."""
    from cnnsearch.export import parse_formats

    parse_formats(formats)
