"""Spec ranges -> Optuna suggestions. The ONLY place that calls ``trial.suggest_*``.

A trial's params dict holds every value the model and training need (constants
included), so the same dict rebuilds the same model without a study.
"""

from __future__ import annotations

from typing import Any, Protocol

from cnnsearch.spec import Choices, FloatRange, IntRange, Spec

#: Spec sections whose fields become trial params, in order.
TUNED_SECTIONS = ("model", "train", "augment")


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
    for section in TUNED_SECTIONS:
        for name, value in getattr(spec, section):
            params[name] = _suggest_one(trial, name, value)
    return params


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
        for section in TUNED_SECTIONS
        for name, value in getattr(spec, section)
        if isinstance(value, (IntRange, FloatRange, Choices))
    ]


def grid(spec: Spec) -> dict[str, list[Any]]:
    """Every value of every searched param, for Optuna's GridSampler (ranges need a step)."""
    space: dict[str, list[Any]] = {}
    for section in TUNED_SECTIONS:
        for name, value in getattr(spec, section):
            if isinstance(value, Choices):
                space[name] = list(value.choices)
            elif isinstance(value, IntRange):
                space[name] = list(range(value.low, value.high + 1, value.step))
            elif isinstance(value, FloatRange) and value.step is not None:
                count = int(round((value.high - value.low) / value.step)) + 1
                space[name] = [round(value.low + i * value.step, 12) for i in range(count)]
    return space
