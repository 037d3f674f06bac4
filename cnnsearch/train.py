"""Compile and fit a model from a trial's params: early stopping, LR plateau, NaN guard."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnnsearch.data import Splits


def make_optimizer(params: dict[str, Any]) -> keras.optimizers.Optimizer:
    """The optimizer the params name, at their learning rate."""
    name, rate = params["optimizer"], params["learning_rate"]
    if name == "adam":
        return keras.optimizers.Adam(rate)
    if name == "adamw":
        return keras.optimizers.AdamW(rate)
    if name == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(rate)
    raise ValueError(f"unknown optimizer {name!r}")


def compile_model(model: keras.Model, params: dict[str, Any]) -> None:
    """Sparse categorical cross-entropy on integer labels, accuracy as the metric."""
    model.compile(
        optimizer=make_optimizer(params),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def standard_callbacks(
    params: dict[str, Any], monitor: str, direction: str, validation: bool = True
) -> list[keras.callbacks.Callback]:
    """NaN guard, early stopping on the study's metric (best weights restored), LR plateau."""
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
    if validation and params.get("reduce_lr_patience", 0) > 0:
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
) -> keras.callbacks.History:
    """Train on the train split, validate on the validation split; the test split is untouched."""
    compile_model(model, params)
    return model.fit(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    )


def fit_full(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
) -> keras.callbacks.History:
    """Train on all the data given for a fixed number of epochs, with no validation (the final retrain)."""
    compile_model(model, params)
    return model.fit(
        x, y, epochs=epochs, batch_size=params["batch_size"], callbacks=callbacks, shuffle=True, verbose=0
    )
