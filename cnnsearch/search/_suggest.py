"""Spec ranges -> Optuna suggestions. The ONLY place that calls ``trial.suggest_*``.

A trial's params dict holds every value the model and training need (constants
included), so the same dict rebuilds the same model without a study (an
``optuna.trial.FixedTrial`` of the best params, as the export does). Which params
apply to a trial is the spec's business (``cnnsearch.spec.active``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cnnsearch.models import build, build_hypermodel
from cnnsearch.search._internals import hyperparameters_asking, keras_tuner_ladder
from cnnsearch.spec import COMPILE_PARAMS, Choices, FloatRange, IntRange, Spec, active, tunables


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
    for _, name, value in tunables(spec):
        if active(name, params):
            params[name] = _suggest_one(trial, name, value)
    return params


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
        ladder = keras_tuner_ladder(hp)
        return trial.suggest_categorical(hp.name, [int(v) if kind == "Int" else float(v) for v in ladder])
    if kind == "Int":
        return trial.suggest_int(hp.name, int(hp.min_value), int(hp.max_value), step=int(hp.step or 1), log=log)
    return trial.suggest_float(hp.name, float(hp.min_value), float(hp.max_value), step=hp.step, log=log)


def trial_hyperparameters(trial: SuggestsParams) -> Any:
    """A ``keras_tuner.HyperParameters`` that asks the Optuna trial for each new active value."""
    return hyperparameters_asking(lambda hp: suggest_hyperparameter(trial, hp))


@dataclass
class TrialNetwork:
    """A trial's network, uncompiled, with what training needs to compile it."""

    model: Any
    #: A hypermodel's own params (and the [train] compile params it needed): logged with the trial.
    hp_values: dict[str, Any] = field(default_factory=dict)
    #: The [train] params suggested for compiling an uncompiled hypermodel (merged into the fit's params).
    compile_params: dict[str, Any] = field(default_factory=dict)
    #: The hypermodel's own compile config, when its build(hp) compiled the model.
    compile_config: dict[str, Any] | None = None


def build_for_trial(
    spec: Spec, trial: SuggestsParams, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> TrialNetwork:
    """The trial's network: the spec's hypermodel (its hp from the trial) when it names one, else the built-in one."""
    if spec.model.hypermodel is None:
        return TrialNetwork(build(params, input_shape, num_classes))
    hp = trial_hyperparameters(trial)
    model, config = build_hypermodel(spec.model.hypermodel, hp, params, input_shape, num_classes)
    values = dict(hp.values)
    compile_params = suggest_compile(trial, spec) if config is None else {}
    return TrialNetwork(model, {**values, **compile_params}, compile_params, config)
