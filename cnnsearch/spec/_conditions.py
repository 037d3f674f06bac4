"""Which params a spec searches: the conditional space, as a function of the spec alone.

Only the chosen architecture's params (and the chosen optimizer's and schedule's)
apply to a trial. Validation (initial params, grid steps) and the search's
suggestions both ask the same :func:`active`, so they agree on what a trial holds.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from cnnsearch.spec._types import BACKBONES, Choices, FloatRange, IntRange, flat_fields, tunable_values

if TYPE_CHECKING:
    from cnnsearch.spec._schema import Spec

#: Spec sections whose fields become trial params, in order.
TUNED_SECTIONS = ("model", "train", "augment")
#: Fields of those sections that configure the search rather than hold a value.
NOT_PARAMS = frozenset({"hypermodel"})
#: [train] fields that only matter if cnnsearch compiles the model; a hypermodel that compiles
#: its own model never has them suggested.
COMPILE_PARAMS = (
    "learning_rate",
    "optimizer",
    "weight_decay",
    "momentum",
    "nesterov",
    "clipnorm",
    "label_smoothing",
    "lr_schedule",
    "warmup_epochs",
)
#: The plain CNN's [model] fields: suggested only when architecture is "plain".
PLAIN_FIELDS = frozenset(
    {
        "blocks",
        "filters",
        "filter_growth",
        "convs_per_block",
        "kernel_size",
        "batch_norm",
        "dropout",
        "dense_units",
        "head",
    }
)


def active(name: str, params: dict[str, Any]) -> bool:
    """Whether a param applies, given the params chosen before it: the space is conditional.

    Only the chosen architecture's params (and the chosen optimizer's and schedule's) are
    suggested, so Optuna sees, and a trial records, nothing that the trial does not use.
    """
    architecture = params.get("architecture", "plain")
    if name in PLAIN_FIELDS:
        return architecture == "plain"
    if name.startswith("residual_"):
        return architecture == "residual"
    if name == "backbone_alpha":
        return architecture == "mobilenet_v2"
    if name.startswith("backbone_"):
        return architecture in BACKBONES
    if name == "weight_decay":
        return params.get("optimizer") == "adamw"
    if name in ("momentum", "nesterov"):
        return params.get("optimizer") == "sgd"
    if name == "warmup_epochs":
        return params.get("lr_schedule") == "warmup_cosine"
    return True


def tunables(spec: Spec) -> list[tuple[str, str, Any]]:
    """(section, name, value) of every field that becomes a param; a hypermodel suggests its own model params."""
    return [
        (section, name, value)
        for section in TUNED_SECTIONS
        if not (section == "model" and spec.model.hypermodel is not None)
        for name, value in flat_fields(getattr(spec, section))
        if name not in NOT_PARAMS and not (spec.model.hypermodel is not None and name in COMPILE_PARAMS)
    ]


def searched_names(spec: Spec) -> list[str]:
    """Names of the params that are searched (not constants): the ones Optuna records."""
    return [
        name
        for _, name, value in tunables(spec)
        if isinstance(value, (IntRange, FloatRange, Choices)) and may_be_active(name, spec)
    ]


def may_be_active(name: str, spec: Spec) -> bool:
    """Whether some trial of this spec suggests the param (e.g. residual fields need "residual" among the choices)."""
    parents = itertools.product(
        tunable_values(spec.model.architecture),
        tunable_values(spec.train.optimizer),
        tunable_values(spec.train.lr_schedule),
    )
    return any(active(name, {"architecture": a, "optimizer": o, "lr_schedule": s}) for a, o, s in parents)


def grid(spec: Spec) -> dict[str, list[Any]]:
    """Every value of every searched param, for Optuna's GridSampler (ranges need a step)."""
    space: dict[str, list[Any]] = {}
    for _, name, value in tunables(spec):
        if not may_be_active(name, spec):
            continue  # never suggested: it would only multiply the grid with duplicates
        if isinstance(value, Choices):
            space[name] = list(value.choices)
        elif isinstance(value, IntRange):
            space[name] = list(range(value.low, value.high + 1, value.step))
        elif isinstance(value, FloatRange) and value.step is not None:
            count = int(round((value.high - value.low) / value.step)) + 1
            space[name] = [round(value.low + i * value.step, 12) for i in range(count)]
    return space


#: A grid over more points than this would never finish (nor fit in memory as Optuna lists it).
MAX_GRID_POINTS = 1_000_000


def grid_problem(spec: Spec) -> str | None:
    """'section.field: what is wrong' when the grid sampler cannot enumerate the space, else None."""
    points = 1.0
    for section in TUNED_SECTIONS:
        for name, value in flat_fields(getattr(spec, section)):
            if not may_be_active(name, spec):
                continue
            if isinstance(value, FloatRange) and value.step is None:
                field = re.sub(r"^(residual|backbone)_", r"\1.", name) if section == "model" else name
                return f"{section}.{field}: the grid sampler needs choices or a range with a step"
            points *= _grid_count(value)
    if points > MAX_GRID_POINTS:
        return (
            f"study.sampler: the grid has about {points:.1e} points; at most {MAX_GRID_POINTS:,} are allowed "
            "(fewer choices, coarser steps, or another sampler)"
        )
    return None


def _grid_count(value: Any) -> float:
    """How many values one field adds to the grid, counted without listing them (a float: it may be huge)."""
    if isinstance(value, Choices):
        return float(len(value.choices))
    if isinstance(value, IntRange):
        return float((value.high - value.low) // value.step + 1)
    if isinstance(value, FloatRange) and value.step is not None:
        return (value.high - value.low) / value.step + 1
    return 1.0


def initial_params_problem(spec: Spec) -> str | None:
    """'name: what is wrong' for the first bad [study] initial_params entry, else None.

    Names must be searched params; values must lie in their range or among their choices.
    A hypermodel's own params are known only when it builds, so those names pass.
    """
    fields = {name: value for _, name, value in tunables(spec)}
    searched = set(searched_names(spec))
    for name, value in spec.study.initial_params.items():
        if name not in searched:
            if spec.model.hypermodel is not None and name not in fields:
                continue
            known = ", ".join(sorted(searched)) or "none"
            return f"{name}: not a searched param of this spec (searched: {known})"
        problem = _initial_value_problem(fields[name], value)
        if problem:
            return f"{name}: {problem}"
    return None


def _initial_value_problem(field: Any, value: Any) -> str | None:
    """What is wrong with one initial value for its field: its type, range, step or choice."""
    if isinstance(field, Choices):
        # ``True == 1`` and ``2.0 == 2`` in Python: a choice matches only a value of its own kind.
        if not any(value == choice and _fits(value, choice) for choice in field.choices):
            return f"{value!r} is not among the choices {list(field.choices)}"
    if isinstance(field, IntRange):
        if not _fits(value, 0):
            return f"expected an integer in [{field.low}, {field.high}], got {value!r}"
        if not field.low <= value <= field.high:
            return f"{value!r} is outside [{field.low}, {field.high}]"
        if (value - field.low) % field.step:
            return f"{value!r} is not on the range's steps ({field.low}, {field.low + field.step}, ...)"
    if isinstance(field, FloatRange):
        if not _fits(value, 0.0):
            return f"expected a number in [{field.low}, {field.high}], got {value!r}"
        if not field.low <= value <= field.high:
            return f"{value!r} is outside [{field.low}, {field.high}]"
        if field.step is not None:
            steps = (value - field.low) / field.step
            if abs(steps - round(steps)) > 1e-6:
                return f"{value!r} is not on the range's steps ({field.low}, {field.low + field.step}, ...)"
    return None


def _fits(value: Any, like: Any) -> bool:
    """Whether ``value`` has the type of ``like``: a float field takes an int too, an int field no float."""
    if isinstance(like, bool) or isinstance(value, bool):
        return isinstance(like, bool) and isinstance(value, bool)
    if isinstance(like, float):
        return isinstance(value, (int, float))
    return type(value) is type(like)
