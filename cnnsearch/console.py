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

from cnnsearch.spec import Spec
from cnnsearch.study import best_trial, count_states, finished_count

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
        done = finished_count(study)
        self.progress.update(self._trials, completed=done, info=self._summary(study))
        if done:
            self.console.print(f"Resuming study '{study.study_name}': {done} of {self.spec.study.n_trials} trials done.")

    # --- display protocol ----------------------------------------------------------

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        # reset() also restarts the elapsed-time column for the new trial.
        self.progress.reset(self._epochs, description=f"trial {number}", info="", visible=True)

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        value = metrics.get(self.metric, math.nan)
        info = f"{self.metric} {value:.4f}  loss {metrics.get('loss', math.nan):.4f}"
        self.progress.update(self._epochs, completed=epoch + 1, info=info)

    def trial_finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.progress.update(self._epochs, visible=False)
        self.progress.update(self._trials, completed=finished_count(study), info=self._summary(study))
        self.console.print(self._trial_line(trial))

    # --- rendering -------------------------------------------------------------------

    def _summary(self, study: optuna.Study) -> str:
        counts = count_states(study)
        best = best_trial(study)
        best_text = f"{best.value:.4f}" if best else "-"
        return f"pruned {counts.get('PRUNED', 0)}  failed {counts.get('FAIL', 0)}  best {best_text}"

    def _trial_line(self, trial: FrozenTrial) -> str:
        state = trial.state.name
        style = STATE_STYLE.get(state, "white")
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        attrs = trial.user_attrs
        if trial.state == TrialState.FAIL:
            detail = f"[red]{attrs.get('fail_reason', 'failed')}[/red]"
        elif trial.state == TrialState.PRUNED:
            value = trial.value if trial.value is not None else _last_intermediate(trial)
            detail = f"{self.metric} {value:.4f}  pruned at epoch {attrs.get('pruned_epoch', '?')}"
        else:
            stopped = f"  early-stopped at epoch {attrs['stopped_epoch']}" if "stopped_epoch" in attrs else ""
            detail = f"{self.metric} {trial.value:.4f}{stopped}"
        return f"trial {trial.number:>3}  [{style}]{state:<8}[/{style}]  {seconds:6.1f}s  {detail}"

    def final_table(self, study: optuna.Study, top: int = 5) -> None:
        self.console.print(trials_table(study, self.spec, top))


def _last_intermediate(trial: FrozenTrial) -> float:
    values = trial.intermediate_values
    return values[max(values)] if values else math.nan


def trials_table(study: optuna.Study, spec: Spec, top: int = 5) -> Table:
    """The best complete trials with their searched params."""

    reverse = spec.study.direction == "maximize"
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    done.sort(key=lambda t: t.value, reverse=reverse)
    counts = count_states(study)
    title = (
        f"Best trials of '{study.study_name}' ({counts.get('COMPLETE', 0)} complete, "
        f"{counts.get('PRUNED', 0)} pruned, {counts.get('FAIL', 0)} failed)"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("trial", justify="right")
    table.add_column(spec.study.metric, justify="right")
    table.add_column("params", overflow="fold")
    for trial in done[:top]:
        params = "  ".join(f"{n}={_fmt(v)}" for n, v in trial.params.items())  # hypermodel params too
        table.add_row(str(trial.number), f"{trial.value:.4f}", params)
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)
