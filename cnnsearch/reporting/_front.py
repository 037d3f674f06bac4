"""Accuracy against cost, shown: the front as a table, and a plot of every trial's cost and score.

The front is ``search.front`` (feasible complete trials no other dominates). The plot has
one panel per measured cost (the study's cost objectives, then its other limited costs):
the front in blue, joined; dominated trials in grey; pruned trials at their best value
so far (yellow); trials over a hard limit, which never trained and have no score, as red
crosses on a strip under the axis, at their cost; each limit as a dashed red line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import CURVE_ATTR, INFEASIBLE_ATTR
from cnnsearch.reporting._tables import trials_frame
from cnnsearch.reporting._trials_view import trials_table
from cnnsearch.search import front, score, trial_costs
from cnnsearch.spec import COSTS, Spec, limits, measured_costs

FRONT_CSV = "front.csv"
FRONT_PLOT = "pareto_front"
#: Units shown after each cost.
UNITS = {"params": "weights", "flops": "FLOPs", "size_mb": "MB", "latency_ms": "ms"}


def format_cost(name: str, value: float | None) -> str:
    """A cost for people: ``12,345`` weights, ``3.2M`` FLOPs, ``0.07`` MB, ``1.23`` ms."""
    if value is None:
        return ""
    if name == "params":
        return f"{int(value):,}"
    if name == "flops":
        return f"{value / 1e6:.3g}M"
    return f"{value:.3g}"


def plotted_costs(study: optuna.Study, spec: Spec) -> list[str]:
    """The costs to show: the spec's measured ones, else whatever the trials measured (an older spec)."""
    names = list(measured_costs(spec.study))
    if names:
        return names
    seen = {name for t in study.get_trials(deepcopy=False) for name in trial_costs(t)}
    return [name for name in COSTS if name in seen]


def front_frame(study: optuna.Study, spec: Spec) -> pd.DataFrame:
    """The front's trials, best score first, as ``trials_frame`` rows: score, costs, epochs, run, params."""
    frame = trials_frame(study, spec, sort="value", front_only=True)
    keep = ["number", "value", *(c for c in frame.columns if c.startswith("costs.")), "epochs_run", "duration_s"]
    return frame[[*keep, "mlflow_run_id", *(c for c in frame.columns if c.startswith("params."))]]


def front_table(
    frame: pd.DataFrame, title: str, metric: str = "value", width: int = 80, wide: bool = False
) -> list[Any]:
    """The lines to print for the front (``trials_frame`` or :func:`front_frame` rows): one line per
    trial, its score under the metric's name, then each cost, epochs and params, fitted to ``width``."""
    return trials_table(frame, title, width=width, wide=wide, value_header=metric)


def front_html(frame: pd.DataFrame, metric: str = "value") -> str:
    """:func:`front_frame` rows as an HTML table (the report's)."""
    import html

    fixed = ["number", "value", *(c for c in frame.columns if c.startswith("costs.")), "epochs_run"]
    labels = [{"number": "trial", "value": metric}.get(c, c.removeprefix("costs.")) for c in fixed]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*labels, "hyperparameters"])
    rows = []
    for row in frame.to_dict("records"):
        cells = "".join(f"<td class='num'>{html.escape(_cell(c.removeprefix('costs.'), row[c]))}</td>" for c in fixed)
        params = ", ".join(
            f"{k.removeprefix('params.')}={_cell('', v)}"
            for k, v in row.items()
            if k.startswith("params.") and _known(v)
        )
        rows.append(f"<tr>{cells}<td class='params'>{html.escape(params)}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _cell(column: str, value: Any) -> str:
    if not _known(value):
        return ""
    if column in COSTS:
        return format_cost(column, float(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _known(value: Any) -> bool:
    return value is not None and not bool(pd.isna(value))


# --- the plot --------------------------------------------------------------------------


def _groups(study: optuna.Study) -> dict[str, list[tuple[FrozenTrial, float | None]]]:
    """Trials by how they are drawn, each with its score (None for those over a limit)."""
    on_front = {t.number for t in front(study)}
    groups: dict[str, list[tuple[FrozenTrial, float | None]]] = {
        "front": [],
        "dominated": [],
        "pruned": [],
        "over a limit (not trained)": [],
    }
    for trial in study.get_trials(deepcopy=False):
        if not trial_costs(trial):
            continue
        if INFEASIBLE_ATTR in trial.user_attrs:
            groups["over a limit (not trained)"].append((trial, None))
        elif trial.state == TrialState.COMPLETE and trial.values is not None:
            groups["front" if trial.number in on_front else "dominated"].append((trial, score(trial)))
        elif trial.state == TrialState.PRUNED:
            best = _best_so_far(trial, maximize=study.directions[0] == optuna.study.StudyDirection.MAXIMIZE)
            if best is not None:
                groups["pruned"].append((trial, best))
    return groups


def _best_so_far(trial: FrozenTrial, maximize: bool) -> float | None:
    values = [float(v) for v in trial.user_attrs.get(CURVE_ATTR, []) if v is not None]
    values += [float(v) for v in trial.intermediate_values.values()]
    if not values:
        return None
    return max(values) if maximize else min(values)


STYLE = {
    "front": ("tab:blue", "o"),
    "dominated": ("0.6", "o"),
    "pruned": ("goldenrod", "^"),
    "over a limit (not trained)": ("tab:red", "x"),
}


def plot_front(study: optuna.Study, spec: Spec, path: str | Path) -> Path | None:
    """The PNG of the plot (see the module); None when no trial measured a cost."""
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    costs = plotted_costs(study, spec)
    groups = _groups(study)
    if not costs or not any(groups.values()):
        return None
    metric, bounds = spec.study.metric, limits(spec.study)
    scored = [s for name, members in groups.items() for _, s in members if s is not None]
    low, high = (min(scored), max(scored)) if scored else (0.0, 1.0)
    strip = low - 0.08 * ((high - low) or 1.0)
    with matplotlib.rc_context(matplotlib.style.library["ggplot"]):
        fig = Figure(figsize=(max(6.0, 4.6 * len(costs)), 4.2), dpi=80)
        fig.subplots_adjust(left=0.1, right=0.98, bottom=0.13, top=0.84, wspace=0.25)
        axes = fig.subplots(1, len(costs), squeeze=False)[0]
        for ax, cost in zip(axes, costs):
            for name, members in groups.items():
                points = [(trial_costs(t).get(cost), s) for t, s in members]
                points = [(x, strip if s is None else s) for x, s in points if x is not None]
                if not points:
                    continue
                color, marker = STYLE[name]
                xs, ys = zip(*sorted(points))
                ax.scatter(xs, ys, c=color, marker=marker, s=30, label=f"{name} ({len(points)})", zorder=3)
                if name == "front" and len(costs) == 1 and len(points) > 1:
                    ax.step(xs, ys, where="post", color=color, linewidth=1, alpha=0.6)
            if cost in bounds:
                ax.axvline(bounds[cost], color="tab:red", linestyle="--", linewidth=1, label=f"max_{cost}")
            values = [trial_costs(t).get(cost) for members in groups.values() for t, _ in members]
            known = [v for v in values if v]
            if known and max(known) / min(known) > 20:
                ax.set_xscale("log")
            ax.set_xlabel(f"{cost} ({UNITS[cost]})", fontsize=8)
            ax.set_ylabel(metric, fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0].legend(fontsize=7, loc="best")
        counts = ", ".join(f"{len(m)} {n}" for n, m in groups.items() if m)
        fig.suptitle(f"{study.study_name}: {metric} against cost\n{counts}", fontsize=9)
        path = Path(path)
        fig.savefig(path, format="png")
    return path


def front_figure(study: optuna.Study, spec: Spec) -> Any:
    """The same plot as an interactive plotly figure (hover: trial, score, costs); None without costs."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    costs = plotted_costs(study, spec)
    groups = _groups(study)
    if not costs or not any(groups.values()):
        return None
    metric, bounds = spec.study.metric, limits(spec.study)
    scored = [s for members in groups.values() for _, s in members if s is not None]
    low, high = (min(scored), max(scored)) if scored else (0.0, 1.0)
    strip = low - 0.08 * ((high - low) or 1.0)
    colors = {"front": "#1f77b4", "dominated": "#999999", "pruned": "#daa520", "over a limit (not trained)": "#d62728"}
    symbols = {"front": "circle", "dominated": "circle", "pruned": "triangle-up", "over a limit (not trained)": "x"}
    figure = make_subplots(rows=1, cols=len(costs))
    for col, cost in enumerate(costs, start=1):
        for name, members in groups.items():
            points = [(t, float(trial_costs(t)[cost]), s) for t, s in members if cost in trial_costs(t)]
            if not points:
                continue
            points.sort(key=lambda p: p[1])
            figure.add_trace(
                go.Scatter(
                    x=[p[1] for p in points],
                    y=[strip if p[2] is None else p[2] for p in points],
                    mode="markers+lines" if name == "front" and len(costs) == 1 else "markers",
                    line={"shape": "hv", "width": 1},
                    marker={"color": colors[name], "symbol": symbols[name], "size": 8},
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    text=[_hover(t, s, metric) for t, _, s in points],
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
        if cost in bounds:
            figure.add_vline(x=bounds[cost], line_dash="dash", line_color="#d62728", row=1, col=col)
        figure.update_xaxes(title_text=f"{cost} ({UNITS[cost]})", row=1, col=col)
        figure.update_yaxes(title_text=metric, row=1, col=col)
    figure.update_layout(title=f"{study.study_name}: {metric} against cost", height=460)
    return figure


def _hover(trial: FrozenTrial, value: float | None, metric: str) -> str:
    costs = "<br>".join(f"{k} {format_cost(k, v)}" for k, v in trial_costs(trial).items())
    shown = f"{metric} {value:.4f}" if value is not None else trial.user_attrs.get(INFEASIBLE_ATTR, "")
    return f"trial {trial.number}<br>{shown}<br>{costs}"


def write_front_plot(study: optuna.Study, spec: Spec, out_dir: str | Path) -> list[Path]:
    """``pareto_front.png`` and ``.html`` into ``out_dir``; nothing while no trial measured a cost."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_front(study, spec, out / f"{FRONT_PLOT}.png")
    if png is None:
        return []
    figure = front_figure(study, spec)
    if figure is None:
        return [png]
    figure.write_html(out / f"{FRONT_PLOT}.html", include_plotlyjs=True, full_html=True)
    return [png, out / f"{FRONT_PLOT}.html"]
