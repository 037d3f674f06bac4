"""Accuracy against cost in the study: objective values, hard limits as Optuna constraints, the front.

A trial measures its costs (``spec.measured_costs``) as soon as its network is built.
Each hard limit becomes an Optuna constraint, ``cost / limit - 1`` (``trial.set_constraint``;
feasible when <= 0, and relative, so limits in ms and in weights weigh alike in the samplers'
sums of violations). A trial over a limit ends PRUNED before training, with the reason: the
samplers (TPE, GP) read its constraints and learn to avoid that region, it counts toward
``n_trials`` (it used the budget's slot, not its epochs) and it is no failure.

The front: the feasible complete trials that no other one dominates on the study's
objectives; in a single-objective study, its best trial.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from cnnsearch._keys import COSTS_ATTR
from cnnsearch.search._states import ranked
from cnnsearch.spec import LIMITS, Spec

#: Constraint key of each cost's limit: the spec's field name (``max_latency_ms``).
CONSTRAINT_OF = {cost: name for name, cost in LIMITS.items()}


class Infeasible(Exception):
    """The trial's network is over a hard limit: it ends before training, with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def constraint_values(costs: dict[str, float], limits: dict[str, float]) -> dict[str, float]:
    """Constraint key -> ``cost / limit - 1``: <= 0 within the limit."""
    return {CONSTRAINT_OF[cost]: costs[cost] / limit - 1.0 for cost, limit in limits.items()}


def infeasible_reason(costs: dict[str, float], limits: dict[str, float]) -> str | None:
    """``"latency_ms 7.31 > max_latency_ms 5"`` (every limit broken, "; "-joined), or None."""
    broken = [
        f"{cost} {_shown(costs[cost])} > {CONSTRAINT_OF[cost]} {_shown(limit)}"
        for cost, limit in limits.items()
        if costs[cost] > limit
    ]
    return "; ".join(broken) or None


def _shown(value: float) -> str:
    """Whole numbers (weights, FLOPs, a limit of 5) as they are; others to 4 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def objective_values(spec: Spec, score: float, costs: dict[str, float]) -> list[float]:
    """The values a multi-objective trial returns: its score, then each cost objective's measure."""
    return [score, *(costs[o.metric] for o in spec.study.objectives[1:])]


def trial_costs(trial: FrozenTrial) -> dict[str, float]:
    """The costs a trial measured before training (empty when it measured none)."""
    costs = trial.user_attrs.get(COSTS_ATTR)
    if not isinstance(costs, dict):
        return {}
    return {str(k): v for k, v in costs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[StudyDirection]) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions]
    pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b)]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def front_numbers(study: optuna.Study, candidate: tuple[int, Sequence[float]] | None = None) -> list[int]:
    """Numbers of the front's trials, counting a just-trained (still RUNNING) ``candidate``."""
    scored = {t.number: list(t.values) for t in ranked(study)}
    if candidate is not None:
        scored[candidate[0]] = list(candidate[1])
    directions = study.directions
    return sorted(
        n for n, v in scored.items() if not any(dominates(w, v, directions) for m, w in scored.items() if m != n)
    )


def front(study: optuna.Study) -> list[FrozenTrial]:
    """The front's trials, best score first (in a single-objective study: the best trial)."""
    done = ranked(study)
    if len(study.directions) == 1:
        return done[:1]
    on_front = set(front_numbers(study))
    return [t for t in done if t.number in on_front]
