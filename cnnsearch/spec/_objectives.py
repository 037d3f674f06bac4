"""``study.objectives`` and the hard cost limits: accuracy against cost, validated strictly.

``objectives = [{ metric = "val_accuracy", direction = "maximize" }, { metric = "latency_ms",
direction = "minimize" }]``: the first objective is what training optimizes (a Keras history
key; it becomes ``study.metric``), the others are built-in costs, measured on each trial's
network as soon as it is built. ``max_params``, ``max_flops``, ``max_size_mb`` and
``max_latency_ms`` are hard limits (with or without objectives): a network over one is never
trained. ``docs/multi-objective.md`` describes the search they make.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from cnnsearch.spec._types import _Strict

if TYPE_CHECKING:
    from cnnsearch.spec._schema import Spec, StudySpec

#: The built-in costs: weights, floating-point operations of one image, the ``.keras`` file, batch-1 latency.
COSTS = ("params", "flops", "size_mb", "latency_ms")
#: Hard limit field -> the cost it bounds.
LIMITS = {f"max_{cost}": cost for cost in COSTS}
#: What training logs for every network: Keras's loss and accuracy (the built-in networks are compiled
#: with the accuracy metric), and the validation split's balanced accuracy and macro F1 (added each epoch
#: by ``training.BalancedMetrics``). A hypermodel's own compile may log more.
HISTORY_KEYS = ("val_accuracy", "val_balanced_accuracy", "val_macro_f1", "val_loss", "accuracy", "loss")
#: ``study.metric = "auto"``: val_balanced_accuracy on an imbalanced training split, else val_accuracy
#: (``spec/_auto_metric.py``).
AUTO_METRIC = "auto"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ObjectiveSpec(_Strict):
    """One objective: a Keras history key (the first) or a built-in cost (the others)."""

    metric: str = Field(description="the first: a Keras history key; the others: params, flops, size_mb or latency_ms")
    direction: Literal["maximize", "minimize"] = Field(description="costs are minimized")


def fill_metric(data: Any) -> Any:
    """Before validation: with objectives, ``metric`` and ``direction`` are the first objective's.

    A ``metric`` or ``direction`` also written in the spec must say the same (a resolved spec
    writes both), else the spec would say two things about what training optimizes.
    """
    if not isinstance(data, dict) or not isinstance(data.get("objectives"), list) or not data["objectives"]:
        return data
    first = data["objectives"][0]
    if not isinstance(first, dict) or not isinstance(first.get("metric"), str):
        return data
    metric, direction = first["metric"], first.get("direction")
    if not _KEY.fullmatch(metric) or metric in COSTS:
        return data  # objectives[0] is reported as such after validation
    for key, value in (("metric", metric), ("direction", direction)):
        if key in data and value is not None and data[key] != value:
            raise ValueError(
                f"{key}: with objectives, training optimizes objectives[0] ({key} = {value!r}), "
                f"not {data[key]!r}; leave {key} out"
            )
    filled = {**data, "metric": metric}
    if isinstance(direction, str):
        filled["direction"] = direction
    return filled


def objectives_problem(objectives: list[ObjectiveSpec]) -> str | None:
    """What is wrong with a list of objectives ("field: why"), or None.

    The first is trained for (a history key), the others are distinct costs, minimized.
    """
    if not objectives:
        return None
    if len(objectives) == 1:
        return "objectives: one objective is study.metric and study.direction; objectives lists 2 or more"
    first = objectives[0].metric
    if first == AUTO_METRIC:
        return (
            "objectives[0].metric: 'auto' is for study.metric alone; a multi-objective study names its metric, "
            "such as 'val_balanced_accuracy'"
        )
    if first in COSTS or not _KEY.fullmatch(first):
        return (
            f"objectives[0].metric: the first objective is the one trained for, a Keras history key "
            f"such as 'val_accuracy'; got {first!r} (costs come after it)"
        )
    seen: set[str] = set()
    for i, objective in enumerate(objectives[1:], start=1):
        if objective.metric not in COSTS:
            close = difflib.get_close_matches(objective.metric, COSTS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return (
                f"objectives[{i}].metric: expected a built-in cost ({', '.join(COSTS)}) after the "
                f"trained metric, got {objective.metric!r}{hint}"
            )
        if objective.metric in seen:
            return f"objectives[{i}].metric: {objective.metric!r} is already an objective"
        seen.add(objective.metric)
        if objective.direction != "minimize":
            return f"objectives[{i}].direction: a cost is minimized, got {objective.direction!r}"
    return None


def history_key_problem(metric: str, hypermodel: bool, field: str = "objectives[0].metric") -> str | None:
    """The trained metric must be a key training logs (a hypermodel's own compile may log more)."""
    if hypermodel or metric in HISTORY_KEYS:
        return None
    close = difflib.get_close_matches(metric, HISTORY_KEYS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{field}: the built-in networks log {', '.join(HISTORY_KEYS)}; got {metric!r}{hint}"


def study_problem(study: StudySpec) -> str | None:
    """``[study]`` with objectives: what cannot go with them ("field: why"), or None."""
    problem = objectives_problem(study.objectives)
    if problem is None and study.metric == AUTO_METRIC and study.direction != "maximize":
        problem = "direction: metric = 'auto' picks an accuracy (balanced or not), which is maximized"
    if problem is None and study.objectives and study.folds > 1:
        problem = "folds: a multi-objective study scores on one split (a fold ensemble would multiply the cost shipped)"
    if problem is None and study.objectives and study.final_share:
        problem = "final_share: a multi-objective study has a front, not one best trial to train longer; set it to 0"
    if problem is None and study.objectives and study.sampler == "cmaes":
        problem = "sampler: 'cmaes' optimizes one objective; with objectives use tpe, gp, random, qmc or grid"
    return problem


def spec_problem(spec: Spec) -> str | None:
    """Across sections: the trained metric must be one the network logs; the export ships one trial
    (``ship = "ensemble"`` then ships the picked trial's checkpoint: a mean of several would not have its costs)."""
    objectives = spec.study.objectives
    hypermodel = spec.model.hypermodel is not None
    if not objectives:
        if spec.study.metric == AUTO_METRIC:
            return None
        problem = history_key_problem(spec.study.metric, hypermodel, "metric")
        return f"study.{problem}, or 'auto' (balanced accuracy on imbalanced data)" if problem else None
    problem = history_key_problem(objectives[0].metric, hypermodel)
    if problem:
        return f"study.{problem}"
    if spec.export.rerank:
        return "export.rerank: a multi-objective study ships the trial picked from its front; leave rerank at 0"
    return None


def limits(study: StudySpec) -> dict[str, float]:
    """Cost -> its hard limit, for the limits set (``max_latency_ms = 5`` -> ``{"latency_ms": 5.0}``)."""
    return {cost: float(getattr(study, name)) for name, cost in LIMITS.items() if getattr(study, name) is not None}


def measured_costs(study: StudySpec) -> tuple[str, ...]:
    """The costs each trial measures before it trains: the cost objectives and the limited costs."""
    wanted = {o.metric for o in study.objectives[1:]} | set(limits(study))
    return tuple(cost for cost in COSTS if cost in wanted)


def is_multi_objective(study: StudySpec) -> bool:
    return bool(study.objectives)


def describe_objectives(study: StudySpec) -> str:
    """In words: ``"maximize val_accuracy, minimize latency_ms (max_latency_ms = 5)"``."""
    goals = [f"{o.direction} {o.metric}" for o in study.objectives] or [f"{study.direction} {study.metric}"]
    bounds = [f"max_{cost} = {limit:g}" for cost, limit in limits(study).items()]
    return ", ".join(goals) + (f" ({', '.join(bounds)})" if bounds else "")
