"""Compile and fit a model from a trial's params: early stopping, LR plateau, NaN guard.

The params also choose the optimizer's knobs (weight decay, momentum, Nesterov,
gradient clipping), the learning-rate schedule, label smoothing, class weights and
resampling of the training split, and, for a pretrained backbone, a fine-tuning
phase after the head has trained.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from cnnsearch.data import Splits, batches, is_streamed
from cnnsearch.models import APPLICATIONS, BACKBONE, apply_freeze
from cnnsearch.training import _imbalance as imbalance
from cnnsearch.training import _schedules as schedules
from cnnsearch.training._balanced import BalancedMetrics
from cnnsearch.training._losses import make_loss
from cnnsearch.training._performance import Settings


def make_optimizer(
    params: dict[str, Any], learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None
) -> keras.optimizers.Optimizer:
    """The optimizer the params name, at their learning rate (or the schedule given)."""
    name = params["optimizer"]
    rate = params["learning_rate"] if learning_rate is None else learning_rate
    extra: dict[str, Any] = {}
    if params.get("clipnorm", 0.0) > 0:
        extra["clipnorm"] = float(params["clipnorm"])
    if name == "adam":
        return keras.optimizers.Adam(rate, **extra)
    if name == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=float(params.get("weight_decay", 0.004)), **extra)
    if name == "sgd":
        return keras.optimizers.SGD(
            rate, momentum=float(params.get("momentum", 0.9)), nesterov=bool(params.get("nesterov", False)), **extra
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(rate, **extra)
    raise ValueError(f"unknown optimizer {name!r}")


def compile_model(
    model: keras.Model,
    params: dict[str, Any],
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
    learning_rate: float | None = None,
    performance: Settings | None = None,
) -> None:
    """Cross-entropy on integer labels (smoothed if asked), accuracy as the metric.

    The learning-rate schedule needs ``steps_per_epoch`` and ``epochs``; without them the
    rate stays constant. ``learning_rate`` overrides the params' (the fine-tuning phase).
    ``performance`` sets XLA and steps per execution (Keras's defaults without it).
    """
    rate = params["learning_rate"] if learning_rate is None else learning_rate
    if steps_per_epoch is not None and epochs is not None:
        rate = schedules.scheduled_learning_rate(params, rate, steps_per_epoch, epochs)
    speed = performance.compile_kwargs() if performance is not None else {}
    model.compile(optimizer=make_optimizer(params, rate), loss=make_loss(params), metrics=["accuracy"], **speed)


def standard_callbacks(
    params: dict[str, Any], monitor: str, direction: str, validation: bool = True
) -> list[keras.callbacks.Callback]:
    """NaN guard, early stopping on the study's metric (best weights restored), LR plateau.

    ReduceLROnPlateau only with a constant rate: Keras cannot lower a schedule's rate.
    """
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    mode = "max" if direction == "maximize" else "min"
    if validation and params.get("early_stopping_patience", 0) > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=params["early_stopping_patience"],
                restore_best_weights=True,
            )
        )
    constant = params.get("lr_schedule", "constant") == "constant"
    if validation and constant and params.get("reduce_lr_patience", 0) > 0:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", mode="min", factor=0.5, patience=params["reduce_lr_patience"]
            )
        )
    return callbacks


def fit(
    model: keras.Model,
    splits: Splits,
    params: dict[str, Any],
    callbacks: list[keras.callbacks.Callback],
    compile_config: dict[str, Any] | None = None,
    performance: Settings | None = None,
) -> keras.callbacks.History:
    """Compile, then train on the train split and validate on the validation split; test is untouched.

    ``compile_config`` is a hypermodel's own compile config (its optimizer, loss, metrics):
    applied as it is. Otherwise the params' optimizer, schedule and loss are compiled here,
    with ``performance``. Resampling and class weights apply to the training split only.
    Every epoch's logs also get ``val_balanced_accuracy`` and ``val_macro_f1``
    (:class:`BalancedMetrics`, first, so every callback after it reads them).
    """
    rows = imbalance.resampled_rows(splits.y_train, params.get("sampling", "none"))
    y_seen = splits.y_train if rows is None else splits.y_train[rows]
    weights = imbalance.class_weights(params.get("class_weight", "none"), y_seen, splits.class_names)
    steps = math.ceil(len(y_seen) / params["batch_size"])
    _compile(model, params, steps, params["epochs"], compile_config, performance)
    x, y, feed = _feed(splits.x_train, splits.y_train, params["batch_size"], rows)
    validation: Any = (splits.x_val, splits.y_val)
    if is_streamed(splits.x_val):
        validation = batches(splits.x_val, splits.y_val, params["batch_size"], shuffle=False)
    balanced = BalancedMetrics(validation, splits.num_classes)  # first: the callbacks after it read its keys
    common = dict(validation_data=validation, class_weight=weights, callbacks=[balanced, *callbacks], verbose=0, **feed)
    history = model.fit(x, y, epochs=params["epochs"], **common)
    return _fine_tune(model, params, history, x, y, common, steps, fine_tune_epochs(params), callbacks, performance)


def fit_full(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    compile_config: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
) -> keras.callbacks.History:
    """Train on all the data given for a fixed number of epochs, with no validation (the final retrain).

    ``epochs`` counts both phases when the params fine-tune a backbone: the head's
    phase runs up to ``params["epochs"]`` of them, fine-tuning the rest.
    """
    rows = imbalance.resampled_rows(y, params.get("sampling", "none"))
    y_seen = y if rows is None else y[rows]
    weights = imbalance.class_weights(params.get("class_weight", "none"), y_seen, class_names)
    steps = math.ceil(len(y_seen) / params["batch_size"])
    head_epochs = min(epochs, params["epochs"]) if fine_tune_epochs(params) else epochs
    _compile(model, params, steps, head_epochs, compile_config)
    x, y, feed = _feed(x, y, params["batch_size"], rows)
    common = dict(class_weight=weights, callbacks=callbacks, verbose=0, **feed)
    history = model.fit(x, y, epochs=head_epochs, **common)
    return _fine_tune(model, params, history, x, y, common, steps, epochs - head_epochs, callbacks)


def _feed(x: np.ndarray, y: np.ndarray, batch_size: int, rows: np.ndarray | None) -> tuple[Any, Any, dict[str, Any]]:
    """Arrays (at the resampled ``rows``), or a memory-mapped split as a stream of batches that reads
    ``rows`` from the file (past data.memory_limit, or shared between worker processes)."""
    if is_streamed(x):
        stream = batches(x, y, batch_size, shuffle=True, seed=np.random.randint(0, 2**31 - 1), rows=rows)
        return stream, None, {"shuffle": False}  # the stream shuffles itself
    if rows is not None:
        x, y = x[rows], y[rows]
    return x, y, {"batch_size": batch_size, "shuffle": True}


def _compile(
    model: keras.Model,
    params: dict[str, Any],
    steps_per_epoch: int,
    epochs: int,
    compile_config: dict[str, Any] | None,
    performance: Settings | None = None,
) -> None:
    """The only place a search or export model is compiled: the user's config, or the params'."""
    if compile_config is not None:
        model.compile_from_config(compile_config)
    else:
        compile_model(model, params, steps_per_epoch, epochs, performance=performance)


def fine_tune_epochs(params: dict[str, Any]) -> int:
    """Epochs of the fine-tuning phase: only for backbones that unfreeze something."""
    if params.get("architecture") not in APPLICATIONS or params.get("backbone_freeze", "all") == "all":
        return 0
    return int(params.get("backbone_fine_tune_epochs", 0))


def _fine_tune(
    model: keras.Model,
    params: dict[str, Any],
    history: keras.callbacks.History,
    x: np.ndarray,
    y: np.ndarray,
    common: dict[str, Any],
    steps: int,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    performance: Settings | None = None,
) -> keras.callbacks.History:
    """After the head trained: unfreeze per ``backbone_freeze``, recompile at a lower rate, train on.

    Skipped when the first phase was pruned or diverged. Returns one history for both phases.
    """
    done = len(history.history.get("loss", []))
    losses = history.history.get("loss", [])
    pruned = any(getattr(callback, "pruned_epoch", None) is not None for callback in callbacks)
    if epochs <= 0 or pruned or not losses or not math.isfinite(losses[-1]):
        return history
    apply_freeze(model.get_layer(BACKBONE), params["backbone_freeze"])
    rate = params["learning_rate"] * params.get("backbone_fine_tune_lr_factor", 0.1)
    compile_model(model, params, steps, epochs, learning_rate=rate, performance=performance)
    second = model.fit(x, y, initial_epoch=done, epochs=done + epochs, **common)
    for key, values in second.history.items():
        history.history.setdefault(key, []).extend(values)
    return history
