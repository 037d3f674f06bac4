"""Spec ranges -> Optuna suggestions. The ONLY place that calls ``trial.suggest_*``.

A trial's params dict holds every value the model and training need (constants
included), so the same dict rebuilds the same model without a study.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from cnnsearch.spec import BACKBONES, Choices, FloatRange, IntRange, Spec, flat_fields, tunable_values

#: Spec sections whose fields become trial params, in order.
TUNED_SECTIONS = ("model", "train", "augment")
#: Fields of those sections that configure the search rather than hold a value.
NOT_PARAMS = frozenset({"hypermodel"})
#: [train] fields that only matter if cnnsearch compiles the model; a hypermodel that compiles
#: its own model never has them suggested (see ``suggest_compile``).
COMPILE_PARAMS = (
    "learning_rate", "optimizer", "weight_decay", "momentum", "nesterov", "clipnorm",
    "label_smoothing", "lr_schedule", "warmup_epochs",
)
#: The plain CNN's [model] fields: suggested only when architecture is "plain".
PLAIN_FIELDS = frozenset(
    {"blocks", "filters", "filter_growth", "convs_per_block", "kernel_size", "batch_norm", "dropout", "dense_units", "head"}
)


class SuggestsParams(Protocol):
    """What suggest() needs of a trial: optuna.Trial and optuna.trial.FixedTrial both fit."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def suggest(trial: SuggestsParams, spec: Spec) -> dict[str, Any]:
    """One trial's params: a suggestion for each distribution, the constant for each constant."""
    params: dict[str, Any] = {}
    for section, name, value in _tunables(spec):
        if active(name, params):
            params[name] = _suggest_one(trial, name, value)
    return params


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


def _tunables(spec: Spec) -> list[tuple[str, str, Any]]:
    """(section, name, value) of every field that becomes a param; a hypermodel suggests its own model params."""
    return [
        (section, name, value)
        for section in TUNED_SECTIONS
        if not (section == "model" and spec.model.hypermodel is not None)
        for name, value in flat_fields(getattr(spec, section))
        if name not in NOT_PARAMS and not (spec.model.hypermodel is not None and name in COMPILE_PARAMS)
    ]


def suggest_compile(trial: SuggestsParams, spec: Spec) -> dict[str, Any]:
    """[train] compile params (optimizer, learning rate, its schedule, ...), for a hypermodel whose build(hp) left the model uncompiled."""
    values: dict[str, Any] = {}
    for name in COMPILE_PARAMS:
        if active(name, values):
            values[name] = _suggest_one(trial, name, getattr(spec.train, name))
    return values


def _suggest_one(trial: SuggestsParams, name: str, value: Any) -> Any:
    if isinstance(value, IntRange):
        return trial.suggest_int(name, value.low, value.high, step=value.step, log=value.log)
    if isinstance(value, FloatRange):
        return trial.suggest_float(name, value.low, value.high, step=value.step, log=value.log)
    if isinstance(value, Choices):
        return trial.suggest_categorical(name, list(value.choices))
    return value


def searched_names(spec: Spec) -> list[str]:
    """Names of the params that are searched (not constants): the ones Optuna records."""
    return [
        name
        for _, name, value in _tunables(spec)
        if isinstance(value, (IntRange, FloatRange, Choices)) and may_be_active(name, spec)
    ]


def may_be_active(name: str, spec: Spec) -> bool:
    """Whether some trial of this spec suggests the param (e.g. residual fields need "residual" among the choices)."""
    parents = itertools.product(
        tunable_values(spec.model.architecture), tunable_values(spec.train.optimizer), tunable_values(spec.train.lr_schedule)
    )
    return any(active(name, {"architecture": a, "optimizer": o, "lr_schedule": s}) for a, o, s in parents)


def grid(spec: Spec) -> dict[str, list[Any]]:
    """Every value of every searched param, for Optuna's GridSampler (ranges need a step)."""
    space: dict[str, list[Any]] = {}
    for _, name, value in _tunables(spec):
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


def suggest_hyperparameter(trial: SuggestsParams, hp: Any) -> Any:
    """One KerasTuner hyperparameter (``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean``) as an Optuna suggestion.

    KerasTuner's ``step`` with log sampling multiplies (32, 64, 128, ...): those finite
    ladders become categorical choices. ``reverse_log`` is searched on a log scale too.
    """
    kind = type(hp).__name__
    if kind == "Fixed":
        return hp.value
    if kind == "Boolean":
        return trial.suggest_categorical(hp.name, [False, True])
    if kind == "Choice":
        return trial.suggest_categorical(hp.name, list(hp.values))
    if kind not in ("Int", "Float"):
        raise TypeError(f"unsupported KerasTuner hyperparameter type {kind} for '{hp.name}'")
    log = hp.sampling in ("log", "reverse_log")
    if log and hp.step is not None:
        ladder = [hp.min_value * hp.step**i for i in range(hp._get_n_values())]
        return trial.suggest_categorical(hp.name, [int(v) if kind == "Int" else float(v) for v in ladder])
    if kind == "Int":
        return trial.suggest_int(hp.name, int(hp.min_value), int(hp.max_value), step=int(hp.step or 1), log=log)
    return trial.suggest_float(hp.name, float(hp.min_value), float(hp.max_value), step=hp.step, log=log)


def check_initial_params(spec: Spec) -> str | None:
    """'name: what is wrong' for the first bad [study] initial_params entry, else None.

    Names must be searched params; values must lie in their range or among their choices.
    A hypermodel's own params are known only when it builds, so those names pass.
    """
    fields = {name: value for _, name, value in _tunables(spec)}
    searched = set(searched_names(spec))
    for name, value in spec.study.initial_params.items():
        if name not in searched:
            if spec.model.hypermodel is not None and name not in fields:
                continue
            known = ", ".join(sorted(searched)) or "none"
            return f"{name}: not a searched param of this spec (searched: {known})"
        field = fields[name]
        if isinstance(field, Choices) and value not in list(field.choices):
            return f"{name}: {value!r} is not among the choices {list(field.choices)}"
        if isinstance(field, (IntRange, FloatRange)):
            if isinstance(value, (bool, str)) or not field.low <= value <= field.high:
                return f"{name}: {value!r} is outside [{field.low}, {field.high}]"
    return None
