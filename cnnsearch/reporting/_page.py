"""``cnnsearch report``: the whole study on one self-contained HTML page.

Everything is inline: plotly.js once, the interactive study plots, and each top
trial's learning curves as an embedded PNG (the trial run's ``curves.png``, or
redrawn from its MLflow metric history for runs logged before curves existed).
The page opens offline, from a mail attachment or a CI artifact.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from cnnsearch._keys import (
    DIAGNOSIS_ATTR,
    DIAGNOSIS_REASON_ATTR,
    EPOCHS_RUN_ATTR,
    PRUNED_EPOCH_ATTR,
    RUN_ID_ATTR,
    STOPPED_EPOCH_ATTR,
)
from cnnsearch.reporting._artifacts import CURVES_FILE
from cnnsearch.reporting._front import front_figure, front_frame, front_html
from cnnsearch.reporting._plots import importance_title, plot_learning_curves, study_figures
from cnnsearch.reporting._shipped import shipped_section
from cnnsearch.reporting._tables import fmt as _fmt
from cnnsearch.reporting._tables import missing, trials_frame
from cnnsearch.search import ranked, score, trial_counts
from cnnsearch.spec import Spec, measured_costs
from cnnsearch.training import LABELS

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1280px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
.meta { color: #666; } .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 20px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots > div { margin-bottom: 12px; border: 1px solid #eee; border-radius: 6px; }
.trial { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; margin: 12px 0; display: flex; gap: 16px; flex-wrap: wrap; }
.trial > div:first-child { flex: 0 0 380px; } .trial img { max-width: 680px; width: 100%; align-self: center; } .params { font: 12px/1.5 ui-monospace, monospace; }
.tag { border-radius: 10px; padding: 1px 8px; font-size: 12px; color: #fff; white-space: nowrap; }
.healthy { background: #2e7d32; } .overfitting { background: #c62828; } .underfitting { background: #6d4c41; }
.unstable { background: #ef6c00; } .none { background: #9e9e9e; }
.note { margin: 8px 14px 0; color: #b26a00; }
"""


def render(
    study: optuna.Study,
    spec: Spec,
    top: int = 5,
    tracking_uri: str | None = None,
    shipped: dict[str, Any] | None = None,
) -> str:
    """The report as one HTML string; ``tracking_uri`` is where the trials' curves live."""
    import plotly.offline

    s = spec.study
    counts = trial_counts(study)
    done = ranked(study)
    figures = study_figures(study)
    for fig in figures.values():  # Optuna fixes some widths; fill the page (the tidied ones set their height)
        fig.update_layout(width=None, height=fig.layout.height or 460, autosize=True)
    plots = "".join(
        f"<div>{_plot_note(name, study)}"
        f"{fig.to_html(full_html=False, include_plotlyjs=False, default_height=f'{fig.layout.height}px')}</div>"
        for name, fig in figures.items()
    )
    best = done[0] if done else None
    cards = [
        ("trials", len(study.trials)),
        ("complete", counts.complete),
        ("pruned", counts.pruned),
        ("failed", counts.fail),
        (f"best {s.metric}", f"{score(best):.4f}" if best else "-"),
        ("best trial", best.number if best else "-"),
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>cnnsearch report: {_e(s.name)}</title><style>{STYLE}</style>",
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>",
        f"<h1>Study {_e(s.name)}</h1>",
        f"<div class='meta'>{_e(s.direction)} {_e(s.metric)} on {_e(spec.data.dataset)} &middot; "
        f"{_e(s.sampler)} sampler, {_e(s.pruner)} pruner &middot; generated "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}</div>",
        "<div class='cards'>" + "".join(f"<div class='card'>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>",
        *shipped_section(shipped),
        "<h2>Diagnosis</h2>",
        _diagnosis_summary(study),
        f"<h2>Top {min(top, len(done))} trials</h2>",
        _top_trials(done[:top], spec, tracking_uri) if done else "<p>No complete trial yet.</p>",
        *(_front_section(study, spec) if measured_costs(spec.study) else []),
        "<h2>Study plots</h2>",
        f"<div class='plots'>{plots}</div>" if plots else "<p>No plot yet: no trial has completed.</p>",
        "<h2>All trials</h2>",
        _all_trials(study, spec),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    study: optuna.Study,
    spec: Spec,
    out: Path,
    top: int = 5,
    tracking_uri: str | None = None,
    shipped: dict[str, Any] | None = None,
) -> Path:
    """The page; ``shipped``: the exported model's trial and test figures (``export.shipped_figures``), if any."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(study, spec, top, tracking_uri, shipped), encoding="utf-8")
    return out


def _plot_note(name: str, study: optuna.Study) -> str:
    """A line above a plot that must not be read alone: importances from too few trials."""
    note = importance_title(study)[1] if name == "param_importances" else ""
    return f"<p class='note'>These importances are {_e(note)}.</p>" if note.startswith("uncertain") else ""


def _diagnosis_summary(study: optuna.Study) -> str:
    """Trials per diagnosis label, with their numbers, and what each label means."""
    meaning = {
        "healthy": "train and validation curves fall together without large swings",
        "overfitting": "validation loss rose off its minimum while training loss kept falling, or the gap widened",
        "underfitting": "neither curve got far below the loss of guessing",
        "unstable": "validation loss swung up and down, or a loss became NaN",
    }
    by_label: dict[str, list[int]] = {}
    for trial in study.get_trials(deepcopy=False):
        label = trial.user_attrs.get(DIAGNOSIS_ATTR)
        if label:
            by_label.setdefault(label, []).append(trial.number)
    if not by_label:
        return "<p>No trial has been diagnosed yet (diagnoses are computed from each trial's curves).</p>"
    rows = "".join(
        f"<tr><td>{_tag(label)}</td><td class='num'>{len(by_label.get(label, []))}</td>"
        f"<td>{_e(', '.join(map(str, by_label.get(label, []))))}</td><td>{_e(meaning[label])}</td></tr>"
        for label in LABELS
    )
    return (
        "<table><tr><th>diagnosis</th><th>trials</th><th>which</th><th>rule (docs/diagnosis.md)</th></tr>"
        f"{rows}</table>"
    )


def _top_trials(trials: list[FrozenTrial], spec: Spec, tracking_uri: str | None) -> str:
    client = _client(tracking_uri)
    blocks = []
    for rank, trial in enumerate(trials, 1):
        attrs = trial.user_attrs
        image = _curves_png(client, attrs.get(RUN_ID_ATTR), spec.study.metric)
        picture = (
            f"<img alt='learning curves of trial {trial.number}' src='data:image/png;base64,{image}'>"
            if image
            else "<p><i>no learning curves logged for this trial</i></p>"
        )
        params = "<br>".join(f"{_e(k)} = {_e(_fmt(v))}" for k, v in trial.params.items())
        stop = ""
        if PRUNED_EPOCH_ATTR in attrs:
            stop = f"pruned at epoch {attrs[PRUNED_EPOCH_ATTR]}"
        elif STOPPED_EPOCH_ATTR in attrs:
            stop = f"early-stopped at epoch {attrs[STOPPED_EPOCH_ATTR]}"
        blocks.append(
            "<div class='trial'><div>"
            f"<h3>#{rank}: trial {trial.number} &nbsp; {_e(spec.study.metric)} = {score(trial):.4f}</h3>"
            f"<p>{_tag(attrs.get(DIAGNOSIS_ATTR))} {_e(attrs.get(DIAGNOSIS_REASON_ATTR, ''))}</p>"
            f"<p>{_e(attrs.get(EPOCHS_RUN_ATTR, '?'))} epochs {_e(stop)} &middot; "
            f"{trial.duration.total_seconds() if trial.duration else 0:.1f} s &middot; "
            f"{_e(attrs.get('param_count', '?'))} params &middot; run {_e(attrs.get(RUN_ID_ATTR, '-'))}</p>"
            f"<div class='params'>{params}</div></div>{picture}</div>"
        )
    return "".join(blocks)


def _front_section(study: optuna.Study, spec: Spec) -> list[str]:
    """Accuracy against cost: the front's plot (every trial, feasible or not) and its table."""
    figure = front_figure(study, spec)
    if figure is not None:
        figure.update_layout(width=None, autosize=True)
    plot = (
        f"<div class='plots'><div>{figure.to_html(full_html=False, include_plotlyjs=False, default_height='460px')}"
        "</div></div>"
        if figure is not None
        else "<p>No trial has measured its costs yet.</p>"
    )
    frame = front_frame(study, spec)
    table = front_html(frame, spec.study.metric) if len(frame) else "<p>No feasible trial has completed yet.</p>"
    rule = "docs/multi-objective.md" if spec.study.objectives else "the best trial within the hard limits"
    return [f"<h2>Front: {_e(spec.study.metric)} against cost ({len(frame)} trials; {_e(rule)})</h2>", plot, table]


def _all_trials(study: optuna.Study, spec: Spec) -> str:
    frame = trials_frame(study, spec)
    columns = ["number", "state", "value", "duration_s", "epochs_run", "diagnosis", "pruned_epoch", "fail_reason"]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for row in frame[columns].to_dict("records"):
        cells = []
        for column in columns:
            value = row[column]
            if column == "diagnosis":
                cells.append(f"<td>{_tag(None if missing(value) else value)}</td>")
            else:
                klass = (
                    " class='num'" if column in ("number", "value", "duration_s", "epochs_run", "pruned_epoch") else ""
                )
                cells.append(f"<td{klass}>{'' if missing(value) else _e(_fmt(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _client(tracking_uri: str | None) -> Any:
    if not tracking_uri:
        return None
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri)
    except Exception:  # noqa: BLE001 - the report still shows the study without MLflow
        return None


def _curves_png(client: Any, run_id: str | None, metric: str) -> str | None:
    """Base64 of the run's curves.png; redrawn from its metric history if the file is missing."""
    if client is None or not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path: Path | None
        try:
            path = Path(client.download_artifacts(run_id, CURVES_FILE, tmp))
        except Exception:  # noqa: BLE001 - older runs have no curves file
            path = _redraw(client, run_id, metric, Path(tmp) / CURVES_FILE)
        return base64.b64encode(path.read_bytes()).decode("ascii") if path and path.is_file() else None


def _redraw(client: Any, run_id: str, metric: str, path: Path) -> Path | None:
    train = metric.removeprefix("val_")
    history: dict[str, list[float]] = {}
    try:
        for key in dict.fromkeys(("loss", "val_loss", train, f"val_{train}")):
            points = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
            if points:
                history[key] = [m.value for m in points]
    except Exception:  # noqa: BLE001
        return None
    return plot_learning_curves(history, metric, None, path) if history.get("loss") else None


def _tag(label: str | None) -> str:
    return f"<span class='tag {_e(label or 'none')}'>{_e(label or 'n/a')}</span>"


def _e(value: Any) -> str:
    return html.escape(str(value))


def summary_counts(study: optuna.Study) -> Counter[str]:
    """Trials per diagnosis label (for the CLI's one-line summary)."""
    return Counter(
        t.user_attrs[DIAGNOSIS_ATTR] for t in study.get_trials(deepcopy=False) if DIAGNOSIS_ATTR in t.user_attrs
    )
