"""Pictures of a search: one trial's learning curves, and the study's Optuna plots.

Pure plotting into files (no MLflow): ``_artifacts.py`` decides when to draw and
where the files go. Matplotlib draws with the Agg backend (no display needed);
interactive HTML embeds plotly.js, so it opens offline and inside the MLflow UI.
Every study plot is optional: one that cannot be drawn yet (too few trials) or
fails is skipped with a reason, never raised.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from cnnsearch.errors import first_line

#: The study plots, in the order people read them.
STUDY_PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice", "contour")
#: The contour plot is a grid of every pair: draw the two most important params.
CONTOUR_PARAMS = 2
#: Under this many complete trials the importances are marked uncertain. On a 6-trial study,
#: fANOVA put dropout first (0.26) with seed 0 and learning_rate (0.30) with seed 1, and Optuna's
#: default PED-ANOVA (what optuna-dashboard shows) gave learning_rate 0.79.
IMPORTANCE_MIN_TRIALS = 20
#: The slice plot's grid: at most this many params a row, each row this many pixels high.
SLICE_COLUMNS = 4
SLICE_ROW_PX = 300
#: Tick labels longer than this are cut (with an ellipsis) on the parallel coordinates' axes.
TICK_CHARS = 10


def plot_learning_curves(
    history: dict[str, list[float]],
    metric: str,
    marker_epoch: int | None,
    path: str | Path,
    *,
    marker_label: str = "stopped",
    best_epoch: int | None = None,
    title: str | None = None,
) -> Path:
    """Loss and ``metric``, train vs validation, per epoch; a dashed line at ``marker_epoch``.

    ``history`` is a Keras ``History.history`` dict. Uses a bare ``Figure`` (no pyplot
    state), so it is cheap and safe to call once per trial inside a long process.
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    train_metric = metric.removeprefix("val_")
    panels = ["loss"] if train_metric == "loss" else ["loss", train_metric]
    # The look of Optuna's plots, whatever ran before (rc_context: cheaper than style.context).
    with matplotlib.rc_context(matplotlib.style.library["ggplot"]):
        fig = Figure(figsize=(4.2 * len(panels), 3.2), dpi=80)
        # Fixed margins: a layout engine would triple the cost of this per-trial plot.
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.84 if title else 0.9, wspace=0.18)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for i, (ax, key) in enumerate(zip(axes, panels)):
            for name in (key, f"val_{key}"):
                values = [v if math.isfinite(v) else math.nan for v in history.get(name, [])]
                if values:
                    label = "validation" if name.startswith("val_") else "train"
                    ax.plot(range(len(values)), values, marker=".", label=label)
            if marker_epoch is not None:
                ax.axvline(
                    marker_epoch,
                    color="tab:red",
                    linestyle="--",
                    linewidth=1,
                    label=f"{marker_label} (epoch {marker_epoch})",
                )
            if best_epoch is not None:
                ax.axvline(
                    best_epoch, color="tab:green", linestyle=":", linewidth=1, label=f"best (epoch {best_epoch})"
                )
            ax.set_xlabel("epoch", fontsize=8, labelpad=1)
            ax.set_title(key, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))  # fewer tick labels: text is the cost
            ax.yaxis.set_major_locator(MaxNLocator(5))
            if i == 0:  # same lines in every panel: one legend
                ax.legend(fontsize=7)
        if title:
            fig.suptitle(title, fontsize=10)
        path = Path(path)
        fig.savefig(path, format="png")
    return path


def write_study_plots(study: optuna.Study, out_dir: str | Path, html: bool = True) -> dict[str, str]:
    """Draw every study plot that the study's trials allow, as ``<name>.png`` (+ ``.html``).

    Returns ``{plot: "ok" | "skipped: <why>"}``; never raises for a plot that fails.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    importances = _CachedImportance()
    outcome: dict[str, str] = {}
    with warnings.catch_warnings():  # experimental-API notes and axis-limit warnings on tiny studies
        warnings.simplefilter("ignore")
        for name in STUDY_PLOTS:
            outcome[name] = _draw(study, name, out, html, importances)
    return outcome


def _draw(study: optuna.Study, name: str, out: Path, html: bool, importances: _CachedImportance) -> str:
    """One plot as PNG (+ HTML): "ok" or "skipped: <why>"."""
    why = _cannot_draw(study, name)
    if why:
        return f"skipped: {why}"
    try:
        kwargs = _plot_kwargs(study, name, importances)
        axes = getattr(_matplotlib_plots(), f"plot_{name}")(study, **kwargs)
        if name == "param_importances":
            import numpy as np

            np.ravel(axes)[0].set_title("\n".join(importance_title(study)), fontsize=9)
        _save_png(axes, out / f"{name}.png")
        if html:
            figure = tidy(getattr(optuna.visualization, f"plot_{name}")(study, **kwargs), name, study)
            figure.write_html(out / f"{name}.html", include_plotlyjs=True, full_html=True)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - a plot must never fail the study
        return f"skipped: {type(exc).__name__}: {first_line(exc)}"


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """The interactive (plotly) study figures that can be drawn now, by name (for reports)."""
    importances = _CachedImportance()
    figures: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in STUDY_PLOTS:
            if _cannot_draw(study, name):
                continue
            try:
                kwargs = _plot_kwargs(study, name, importances)
                figures[name] = tidy(getattr(optuna.visualization, f"plot_{name}")(study, **kwargs), name, study)
            except Exception:  # noqa: BLE001 - a report shows what it can
                continue
    return figures


def _cannot_draw(study: optuna.Study, name: str) -> str:
    """Why this plot cannot be drawn from the study's complete trials yet ('' when it can)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values is not None]
    if not complete:
        return "no complete trial yet"
    varied = _varied_params(complete)
    if name in ("param_importances", "contour") and len(complete) < 2:
        return "needs 2 complete trials"
    if name in ("param_importances", "parallel_coordinate", "slice") and not varied:
        return "no param varies across complete trials"
    if name == "contour" and len(varied) < 2:
        return "needs 2 params that vary"
    return ""


def _varied_params(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    names: dict[str, set[str]] = {}
    for trial in trials:
        for key, value in trial.params.items():
            names.setdefault(key, set()).add(repr(value))
    return [key for key, values in names.items() if len(values) > 1]


class _CachedImportance(optuna.importance.BaseImportanceEvaluator):
    """fANOVA importances computed once per refresh, shared by both renderings and the contour."""

    def __init__(self) -> None:
        self._inner = optuna.importance.FanovaImportanceEvaluator(seed=0)
        self._cache: dict[tuple[Any, ...], dict[str, float]] = {}

    def evaluate(self, study: optuna.Study, params: list[str] | None = None, *, target: Any = None) -> dict[str, float]:
        key = (tuple(params) if params else None, target)
        if key not in self._cache:
            self._cache[key] = self._inner.evaluate(study, params=params, target=target)
        return self._cache[key]


def _score(trial: optuna.trial.FrozenTrial) -> float:
    """A multi-objective study's plots show the metric trained for (its first objective)."""
    return float(trial.values[0])


def _plot_kwargs(study: optuna.Study, name: str, importances: _CachedImportance) -> dict[str, Any]:
    if len(study.directions) > 1:  # a multi-objective study: Optuna's plots need one target, the metric trained for
        target = {"target": _score, "target_name": (study.metric_names or ["Objective 0"])[0]}
        if name == "param_importances":
            return {"evaluator": importances, **target}
    else:
        target = {"target_name": study.metric_names[0]} if study.metric_names else {}  # not "Objective Value"
        if name == "param_importances":
            return {"evaluator": importances}  # Optuna takes the study's metric name itself here
    if name == "contour":
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        varied = _varied_params(complete)
        try:
            ranked = [p for p in importances.evaluate(study, target=target.get("target")) if p in varied]
        except Exception:  # noqa: BLE001 - fall back to the spec's order
            ranked = varied
        return {"params": ranked[:CONTOUR_PARAMS] if len(ranked) >= 2 else varied[:CONTOUR_PARAMS], **target}
    return target


def importance_title(study: optuna.Study) -> tuple[str, str]:
    """The importances' title, and how far to trust them: marked uncertain under IMPORTANCE_MIN_TRIALS."""
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if complete < IMPORTANCE_MIN_TRIALS:
        note = (
            f"uncertain: only {complete} complete trials (under {IMPORTANCE_MIN_TRIALS}); the ranking can change"
            " with more trials or another evaluator"
        )
    else:
        note = f"from {complete} complete trials"
    return "Hyperparameter importances (fANOVA)", note


def tidy(figure: Any, name: str, study: optuna.Study) -> Any:
    """Optuna's plotly figure laid out so that no labels collide, whatever the number of params
    and the length of their names: the slice plot as a grid (SLICE_COLUMNS a row) instead of one
    row that a page squeezes, the parallel coordinates with slanted names and short tick labels,
    and the importances titled with how far to trust them."""
    if name == "slice":
        _slice_grid(figure)
    elif name == "parallel_coordinate":
        figure.update_xaxes(tickangle=-30, automargin=True)
        for note in figure.layout.annotations:  # the tick labels beside each axis
            note.update(text=_cut(str(note.text)), font_size=9)
        figure.update_layout(height=520, margin={"l": 70, "r": 40, "b": 110})
    elif name == "param_importances":
        title, note = importance_title(study)
        figure.update_layout(title_text=f"{title}<br><sup>{note}</sup>", margin={"t": 90})
    return figure


def _slice_grid(figure: Any) -> None:
    """Re-lay the slice plot's one row of subplots as rows of at most SLICE_COLUMNS."""
    count = sum(1 for key in figure.layout.to_plotly_json() if key.startswith("xaxis"))
    if count == 0:
        return
    columns = min(count, SLICE_COLUMNS)
    rows = -(-count // columns)
    height = rows * SLICE_ROW_PX + 120
    below = 110 / height  # room under each row for its tick labels and param names
    title = figure.layout.yaxis.title.text
    for i in range(count):
        row, column = divmod(i, columns)
        suffix = "" if i == 0 else str(i + 1)
        top = 1 - row / rows
        x = figure.layout[f"xaxis{suffix}"]
        x.update(domain=[column / columns + 0.01, (column + 1) / columns - 0.03], tickangle=-30, automargin=True)
        if x.type == "log":
            x.update(dtick="D2")  # decades, 2 and 5 between: not every digit
        elif x.type == "category" and x.categoryarray is not None:
            names = [str(c) for c in x.categoryarray]
            x.update(tickmode="array", tickvals=list(x.categoryarray), ticktext=[_cut(n) for n in names])
        else:
            x.update(nticks=6)
        figure.layout[f"yaxis{suffix}"].update(
            domain=[max(top - 1 / rows + below, 0), top - (0.02 if row else 0)],
            showticklabels=column == 0,
            title_text=title if column == 0 else None,
        )
    figure.update_layout(width=None, height=height, margin={"b": 40})


def _cut(label: str) -> str:
    return label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…"


def _matplotlib_plots() -> Any:
    """Optuna's matplotlib plots, on the Agg backend unless someone already chose pyplot's."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless; a notebook that imported pyplot keeps its backend
    import optuna.visualization.matplotlib as plots

    return plots


def _save_png(axes: Any, path: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    figure = np.ravel(axes)[0].figure
    try:
        figure.savefig(path, dpi=80, bbox_inches="tight")
    finally:
        plt.close(figure)
