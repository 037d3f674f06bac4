"""``cnnsearch trials`` as text: one line per trial, fitted to the terminal's width.

When every column fits (or with ``--wide``) each trial shows all of them under their
full names: the MLflow run, the diagnosis, every param, why it was pruned or failed.
A narrower terminal keeps the trial, its state, value and duration, then as many of
the epochs, params, diagnosis and note as fit (long param names abbreviated, with a
legend), and names what it left out. A 24-row terminal then shows about 20 trials
with their header, instead of two. No line ends in spaces, so the output pastes,
greps and diffs cleanly.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from rich.text import Text

from cnnsearch.reporting._tables import fmt, missing

GAP = "  "
#: A narrow view's note column (why a trial was pruned or failed) is cut to what is left, but not below this.
MIN_NOTE = 12
#: Diagnosis labels as a narrow view shows them.
SHORT_DIAGNOSIS = {"overfitting": "overfit", "underfitting": "underfit"}
STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan"}


@dataclass(frozen=True)
class _Column:
    name: str  # what the footer calls it when it is left out
    header: str
    cells: tuple[str, ...]
    right: bool = False  # numbers align right

    @property
    def width(self) -> int:
        return max(len(self.header), *(len(c) for c in self.cells)) if self.cells else len(self.header)


def trials_table(
    frame: pd.DataFrame, title: str, width: int = 80, wide: bool = False, value_header: str = "value"
) -> list[Text]:
    """The lines to print for ``trials_frame`` rows: title, header, one line per trial, then a footer
    naming the columns a narrow ``width`` left out and the abbreviated param names.

    ``wide`` keeps every column whatever the width (the lines may then be longer); ``value_header``
    names the score's column (the front shows the metric's name beside the costs).
    """
    rows = frame.to_dict("records")
    if not rows:
        return [Text(title), Text("no trials to show")]
    full = _columns(rows, compact=False, value_header=value_header)
    left_out: list[str] = []
    legend: dict[str, str] = {}
    if wide:
        shown = full
    elif _width(full, note=MIN_NOTE) <= width:  # every column, the note cut to the rest of the line
        shown = _cut_note(full, width)
    else:
        shown, left_out, legend = _fit(rows, width, value_header)
    lines = [Text(title), _line([c.header for c in shown], shown, style="bold")]
    for i in range(len(rows)):
        state = str(rows[i].get("state", ""))
        lines.append(_line([c.cells[i] for c in shown], shown, state_style=STATE_STYLE.get(state)))
    footer = []
    if legend:
        footer.append("params: " + "  ".join(f"{short}={name}" for short, name in legend.items()))
    if left_out:
        footer.append(f"not shown (--wide): {', '.join(left_out)}")
    for text in footer:
        lines.extend(Text(part, style="dim") for part in textwrap.wrap(text, width=max(width, 20)))
    return lines


def _columns(rows: list[dict[str, Any]], compact: bool, value_header: str = "value") -> list[_Column]:
    """Every column, in the order they are shown; ``compact``: short headers and labels."""

    def cells(key: str, convert: Any = fmt) -> tuple[str, ...]:
        return tuple("" if missing(row.get(key)) else convert(row[key]) for row in rows)

    keys = list(dict.fromkeys(k for row in rows for k in row))
    # a multi-objective study's costs (measured before training) come before the params
    params = [key for key in keys if key.startswith("costs.")] + [key for key in keys if key.startswith("params.")]
    columns = [
        _Column("trial", "trial", cells("number"), right=True),
        _Column("state", "state", cells("state")),
        _Column("value", value_header, cells("value"), right=True),
        _Column("secs", "secs", cells("duration_s"), right=True),
        _Column("epochs", "ep" if compact else "epochs", cells("epochs_run"), right=True),
        _Column(
            "diagnosis",
            "diag" if compact else "diagnosis",
            cells("diagnosis", lambda v: SHORT_DIAGNOSIS.get(str(v), str(v)) if compact else str(v)),
        ),
        _Column("run", "run", cells("mlflow_run_id", lambda v: str(v)[:8])),
    ]
    for key in params:
        values = cells(key)
        numeric = all(
            missing(v) or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in (r.get(key) for r in rows)
        )
        name = key.split(".", 1)[1]
        columns.append(_Column(name, name, values, right=numeric))
    columns.append(_Column("note", "note", tuple(_note(row) for row in rows)))
    # trial, state, value and secs always (the front's rows have no state: there, trial and value)
    always = ("trial", "state", "value", "secs") if any("state" in row for row in rows) else ("trial", "value")
    return [c for c in columns if c.name in always or any(c.cells)]


def _note(row: dict[str, Any]) -> str:
    if not missing(row.get("infeasible")):  # over a hard limit: pruned before training
        return f"not trained: {row['infeasible']}"
    if not missing(row.get("pruned_epoch")):
        return f"pruned at epoch {row['pruned_epoch']}"
    return "" if missing(row.get("fail_reason")) else str(row["fail_reason"])


def _fit(
    rows: list[dict[str, Any]], width: int, value_header: str = "value"
) -> tuple[list[_Column], list[str], dict[str, str]]:
    """The columns that fit ``width``: trial, state, value and secs always, then epochs, the
    params (those that vary first), the diagnosis, the note (at least MIN_NOTE) and the run;
    shown in their usual order. Returns them, the names left out and the abbreviations used."""
    columns = _columns(rows, compact=True, value_header=value_header)
    names = [c.name for c in columns]
    abbreviated = _abbreviate(columns)
    by_name = {c.name: abbreviated.get(c.name, c) for c in columns}
    params = sorted((n for n in names if n in abbreviated), key=lambda n: len(set(by_name[n].cells)) == 1)
    order = ["trial", "state", "value", "secs", "epochs", *params, "diagnosis", "note", "run"]
    chosen: list[str] = []
    used = -len(GAP)
    for name in (n for n in order if n in by_name):
        need = len(GAP) + (min(by_name[name].width, MIN_NOTE) if name == "note" else by_name[name].width)
        if name in ("trial", "state", "value", "secs") or used + need <= width:
            chosen.append(name)
            used += need
    shown = _cut_note([by_name[n] for n in names if n in chosen], width)
    legend = {c.header: c.name for c in shown if c.name in abbreviated and c.header != c.name}
    return shown, [n for n in names if n not in chosen], legend


def _cut_note(columns: list[_Column], width: int) -> list[_Column]:
    """The note (last) takes what the line has left, cut with an ellipsis."""
    if not columns or columns[-1].name != "note":
        return columns
    note = columns[-1]
    room = max(width - _width(columns[:-1]) - len(GAP), MIN_NOTE)
    return [*columns[:-1], replace(note, cells=tuple(_cut(c, room) for c in note.cells))]


def _abbreviate(columns: Sequence[_Column]) -> dict[str, _Column]:
    """Param columns whose name is longer than their values: ``learning_rate`` becomes ``lr``
    (the initials of its parts), a one-word name over 8 letters is cut to its values' width (at least 5).
    A short name that two params would share, or that is a name already, keeps the full names."""
    fixed = {"trial", "state", "value", "secs", "epochs", "diagnosis", "run", "note"}
    params = [c for c in columns if c.name not in fixed]
    shorts: dict[str, str] = {}
    for column in params:
        cells = max((len(c) for c in column.cells), default=0)
        if len(column.name) <= max(cells, 2):
            shorts[column.name] = column.name
            continue
        parts = [p for p in column.name.replace("/", "_").replace("-", "_").split("_") if p]
        if len(parts) > 1:
            shorts[column.name] = "".join(p if p.isdigit() else p[0] for p in parts)
        else:  # a one-word name is cut only when it is long: "optimizer" -> "optim", "blocks" stays
            shorts[column.name] = column.name if len(column.name) <= 8 else column.name[: max(cells, 5)]
    taken = list(shorts.values())
    names = {c.name for c in columns}
    for name, short in shorts.items():
        if short != name and (taken.count(short) > 1 or short in names or short in ("ep", "diag")):
            shorts[name] = name
    return {c.name: replace(c, header=shorts[c.name]) for c in params}


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _width(columns: Sequence[_Column], note: int | None = None) -> int:
    """The line length of ``columns``; ``note``: counting the note column at most this wide."""
    widths = [min(c.width, note) if note and c.name == "note" else c.width for c in columns]
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _line(cells: Sequence[str], columns: Sequence[_Column], style: str = "", state_style: str | None = None) -> Text:
    """One row, cells padded to their column and two spaces apart, trailing spaces stripped."""
    line = Text(style=style)
    for i, (cell, column) in enumerate(zip(cells, columns)):
        if i:
            line.append(GAP)
        padded = cell.rjust(column.width) if column.right else cell.ljust(column.width)
        line.append(padded, style=(state_style or "") if column.name == "state" else "")
    line.rstrip()
    return line
