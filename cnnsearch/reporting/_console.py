"""The live console: progress over trials and over the running trial's epochs, then a table.

One line is printed per finished trial, so the output also reads well in a log
file or CI, where the progress bars are not animated.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cnnsearch._keys import (
    CURVE_ATTR,
    INFEASIBLE_ATTR,
    INITIAL_ATTR,
    NEIGHBOUR_ATTR,
    PRUNED_EPOCH_ATTR,
    REASON_ATTR,
    STOPPED_EPOCH_ATTR,
)
from cnnsearch.reporting._front import format_cost, front_frame, front_table
from cnnsearch.search import ENDED, best_trial, ranked, score, trial_costs, trial_counts
from cnnsearch.spec import Spec, describe_objectives

STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan"}


class SearchConsole:
    """Implements the study's display protocol with rich progress bars."""

    def __init__(self, spec: Spec, console: Console | None = None) -> None:
        self.spec = spec
        self.metric = spec.study.metric
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._trials = self.progress.add_task("trials", total=spec.study.n_trials, info="")
        self._epochs = self.progress.add_task("epochs", total=spec.train.epochs, info="", visible=False)

    def __enter__(self) -> SearchConsole:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def study_opened(self, study: optuna.Study) -> None:
        """Show where a resumed study stands before the first new trial."""
        done = trial_counts(study).finished
        self.progress.update(self._trials, completed=done, info=self._summary(study))
        if done:
            self.console.print(
                f"Resuming study '{study.study_name}': {done} of {self.spec.study.n_trials} trials done."
            )

    # --- display protocol ----------------------------------------------------------

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        # reset() also restarts the elapsed-time column for the new trial.
        total = params.get("epochs", self.spec.train.epochs)  # the final training's own schedule
        self.progress.reset(self._epochs, total=total, description=f"trial {number}", info="", visible=True)

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        value = metrics.get(self.metric, math.nan)
        info = f"{self.metric} {value:.4f}  loss {metrics.get('loss', math.nan):.4f}"
        self.progress.update(self._epochs, completed=epoch + 1, info=info)

    def trial_finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.progress.update(self._epochs, visible=False)
        self.progress.update(self._trials, completed=trial_counts(study).finished, info=self._summary(study))
        self.console.print(self._trial_line(trial))

    # --- rendering -------------------------------------------------------------------

    def _summary(self, study: optuna.Study) -> str:
        counts = trial_counts(study)
        best = best_trial(study)
        best_text = f"{score(best):.4f}" if best else "-"
        return f"pruned {counts.pruned}  failed {counts.fail}  best {best_text}"

    def _trial_line(self, trial: FrozenTrial) -> str:
        state = trial.state.name
        style = STATE_STYLE.get(state, "white")
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        attrs = trial.user_attrs
        if trial.state == TrialState.FAIL:
            detail = f"[red]{attrs.get(REASON_ATTR, 'failed')}[/red]"
        elif INFEASIBLE_ATTR in attrs:  # over a hard limit: pruned before training
            detail = f"[yellow]not trained: {attrs[INFEASIBLE_ATTR]}[/yellow]"
        elif trial.state == TrialState.PRUNED:
            value = score(trial) if trial.values else _last_intermediate(trial)
            detail = f"{self.metric} {value:.4f}  pruned at epoch {attrs.get(PRUNED_EPOCH_ATTR, '?')}"
        else:
            stopped = f"  early-stopped at epoch {attrs[STOPPED_EPOCH_ATTR]}" if STOPPED_EPOCH_ATTR in attrs else ""
            detail = f"{self.metric} {score(trial):.4f}{stopped}"
        if INITIAL_ATTR in attrs:  # where a planned start-up trial came from (study.initial_neighbours)
            detail += "  [dim]initial params[/dim]"
        elif NEIGHBOUR_ATTR in attrs:
            detail += f"  [dim]initial params with {attrs[NEIGHBOUR_ATTR]}[/dim]"
        costs = "  ".join(f"{name} {format_cost(name, value)}" for name, value in trial_costs(trial).items())
        detail += f"  [dim]{costs}[/dim]" if costs and INFEASIBLE_ATTR not in attrs else ""
        return f"trial {trial.number:>3}  [{style}]{state:<8}[/{style}]  {seconds:6.1f}s  {detail}"

    def final_table(self, study: optuna.Study, top: int = 5) -> None:
        self.console.print(best_trials_table(study, self.spec, top))
        if len(study.directions) > 1:  # accuracy against cost: the trials to choose from
            frame = front_frame(study, self.spec)
            title = f"Front of '{study.study_name}' ({len(frame)} trials)"
            for line in front_table(frame, title, self.metric, width=self.console.width):
                self.console.print(line, soft_wrap=True)

    def say(self, text: str) -> None:
        self.console.print(text)

    def study_header(self, backend: str, workers: int = 0) -> None:
        """The run's first line: the study's budget, sampler, pruner, objectives, data and backend."""
        s = self.spec.study
        self.say(
            f"Study [bold]{s.name}[/bold]: {s.n_trials} trials, {s.sampler} sampler, {s.pruner} pruner, "
            f"{describe_objectives(s)} on {self.spec.data.dataset} (Keras {backend} backend)"
            + (f", {workers} worker process{'es' if workers > 1 else ''}" if workers else "")
        )

    def study_footer(self, study: optuna.Study, tracking_uri: str) -> None:
        """The best trials, then how to browse every trial in MLflow."""
        self.final_table(study)
        experiment = self.spec.tracking.experiment
        self.say(f"MLflow: mlflow ui --backend-store-uri {tracking_uri}   (experiment '{experiment}')")


class PoolConsole(SearchConsole):
    """The console for several workers: trials bar, one line per finished trial, running trials."""

    def __init__(self, spec: Spec, workers: int, console: Any = None) -> None:
        super().__init__(spec, console)
        self.workers = workers
        self._shown: set[int] = set()

    def study_opened(self, study: optuna.Study) -> None:
        super().study_opened(study)
        self._shown = {t.number for t in study.get_trials(deepcopy=False, states=ENDED)}

    def refresh(self, study: optuna.Study) -> None:
        """Print trials that ended since the last look; show the running ones and their epoch."""
        trials = study.get_trials(deepcopy=False)
        ended = [t for t in trials if t.state in ENDED and t.number not in self._shown]
        for trial in sorted(ended, key=lambda t: (t.datetime_complete or t.datetime_start or 0, t.number)):
            self.console.print(self._trial_line(trial))
            self._shown.add(trial.number)
        running = sorted(t.number for t in trials if t.state == TrialState.RUNNING)
        epochs = {
            t.number: len(t.intermediate_values) or len(t.user_attrs.get(CURVE_ATTR, []))
            for t in trials
            if t.state == TrialState.RUNNING
        }
        info = "  ".join(f"#{n} epoch {epochs[n]}/{self.spec.train.epochs}" for n in running)
        self.progress.update(self._trials, completed=trial_counts(study).finished, info=self._summary(study))
        self.progress.update(
            self._epochs, description="workers", completed=len(running), total=self.workers, info=info, visible=True
        )


def _last_intermediate(trial: FrozenTrial) -> float:
    """The last value reported (Optuna's intermediate values, or a multi-objective trial's curve)."""
    values = trial.intermediate_values
    curve = [v for v in trial.user_attrs.get(CURVE_ATTR, []) if v is not None]
    return values[max(values)] if values else (float(curve[-1]) if curve else math.nan)


def best_trials_table(study: optuna.Study, spec: Spec, top: int = 5) -> Table:
    """The best complete trials with their searched params."""

    done = ranked(study)
    counts = trial_counts(study)
    title = f"Best trials of '{study.study_name}' ({counts.complete} complete, {counts.pruned} pruned, {counts.fail} failed)"
    table = Table(title=title, title_justify="left")
    table.add_column("trial", justify="right")
    table.add_column(spec.study.metric, justify="right")
    table.add_column("params", overflow="fold")
    for trial in done[:top]:
        params = "  ".join(f"{n}={_fmt(v)}" for n, v in trial.params.items())  # hypermodel params too
        table.add_row(str(trial.number), f"{score(trial):.4f}", params)
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)
