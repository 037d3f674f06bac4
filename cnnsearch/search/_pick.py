"""``best --pick``: which trial of the front to ship (``best`` shows it, ``best --export`` ships it).

- no ``--pick``: the most accurate feasible trial (the best first objective; in a
  single-objective study, the best trial as ever);
- ``--pick "latency_ms<=5"``: the most accurate trial on the front that meets every
  condition (comma-separated; ``<=``, ``<``, ``>=``, ``>``; on a cost or the trained metric,
  e.g. ``"latency_ms<=5,params<200000"`` or ``"val_accuracy>=0.95"``);
- ``--pick trial=N``: trial N, which must have completed within the hard limits (a trial
  off the front ships too, with a note naming a trial that dominates it).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch.errors import CnnsearchError
from cnnsearch.search._multi_objective import dominates, front, trial_costs
from cnnsearch.search._states import best_trial, feasible, score
from cnnsearch.spec import COSTS, Spec

_CONDITION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+)\s*")
_TRIAL = re.compile(r"\s*trial\s*=\s*(\d+)\s*")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Pick:
    """The trial to ship, and in words why it (the card and the console say so)."""

    trial: FrozenTrial
    rule: str
    on_front: bool
    note: str = ""


def pick_trial(study: optuna.Study, spec: Spec, expression: str | None = None) -> Pick:
    """The trial ``expression`` picks (see the module); CnnsearchError with one line when none fits."""
    if expression is None or not expression.strip():
        best = best_trial(study)
        if best is None:
            raise CnnsearchError(f"study '{study.study_name}' has no feasible complete trial yet: nothing to pick")
        rule = "the most accurate feasible trial (default)" if len(study.directions) > 1 else "the best trial"
        return Pick(best, rule, on_front=True)
    numbered = _TRIAL.fullmatch(expression)
    if numbered:
        return _by_number(study, int(numbered.group(1)))
    conditions = _parse(expression, spec)
    on_front = front(study)
    if not on_front:
        raise CnnsearchError(f"--pick: study '{study.study_name}' has no feasible complete trial yet")
    for name, _, _ in conditions:
        missing = [t.number for t in on_front if _measure(t, name, spec) is None]
        if missing:
            raise CnnsearchError(
                f"--pick: {name} was not measured by trial {missing[0]} (a study measures the costs it has "
                "as objectives or limits: study.objectives, study.max_*)"
            )
    meeting = [t for t in on_front if all(_OPERATORS[op](_measure(t, n, spec), v) for n, op, v in conditions)]  # type: ignore[arg-type]
    if not meeting:
        ranges = "; ".join(_range(on_front, name, spec) for name in dict.fromkeys(n for n, _, _ in conditions))
        raise CnnsearchError(f"--pick {expression.strip()!r}: no trial on the front meets it ({ranges})")
    return Pick(meeting[0], f"the most accurate trial on the front with {expression.strip()}", on_front=True)


def _parse(expression: str, spec: Spec) -> list[tuple[str, str, float]]:
    allowed = (spec.study.metric, *COSTS)
    conditions = []
    for part in expression.split(","):
        match = _CONDITION.fullmatch(part)
        if match is None:
            raise CnnsearchError(
                f"--pick: expected trial=N or conditions such as 'latency_ms<=5' or 'params<200000,size_mb<=1', "
                f"got {part.strip()!r}"
            )
        name, op, text = match.groups()
        if name not in allowed:
            raise CnnsearchError(f"--pick: {name!r} is not an objective here; expected one of {', '.join(allowed)}")
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise CnnsearchError(f"--pick: {name}{op}{text}: {text!r} is not a number") from None
        conditions.append((name, op, value))
    return conditions


def _measure(trial: FrozenTrial, name: str, spec: Spec) -> float | None:
    if name == spec.study.metric:
        return score(trial)
    value = trial_costs(trial).get(name)
    return None if value is None else float(value)


def _range(trials: list[FrozenTrial], name: str, spec: Spec) -> str:
    values = [v for v in (_measure(t, name, spec) for t in trials) if v is not None]
    return f"{name} on the front: {min(values):.4g} to {max(values):.4g}" if values else f"{name}: not measured"


def _by_number(study: optuna.Study, number: int) -> Pick:
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    trial = trials.get(number)
    if trial is None:
        raise CnnsearchError(f"--pick trial={number}: study '{study.study_name}' has no trial {number}")
    if trial.state != TrialState.COMPLETE or not trial.values:
        raise CnnsearchError(f"--pick trial={number}: trial {number} is {trial.state.name}, not COMPLETE")
    if not feasible(trial):
        raise CnnsearchError(f"--pick trial={number}: trial {number} is over a hard limit")
    on_front = any(t.number == number for t in front(study)) or len(study.directions) == 1
    note = ""
    if not on_front:
        better = [t.number for t in front(study) if dominates(t.values, trial.values, study.directions)]
        note = f"trial {number} is not on the front: trial {better[0] if better else '?'} dominates it"
    return Pick(trial, f"trial={number}", on_front=on_front, note=note)
