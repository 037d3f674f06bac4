"""Balanced accuracy and macro F1 on the validation split, added to each epoch's Keras logs.

Why a callback and not a compiled Keras metric: it works the same for the built-in
networks and a hypermodel's own compile, needs no custom object in a saved model, and
sees the whole validation split at once (a macro F1 averaged over batches is not the
macro F1 of the split). It must come first among the callbacks: early stopping, the LR
plateau, the pruner and MLflow's per-epoch logging then read ``val_balanced_accuracy``
and ``val_macro_f1`` like any other ``val_*`` key.

Only the validation split is scored: a second pass over the training split every epoch
would cost about as much as validating it, for a figure nothing selects by (the training
split is augmented, and resampled or weighted, anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

import keras
import numpy as np

#: The figures this callback logs, each under ``val_<name>``.
BALANCED_KEYS = ("balanced_accuracy", "macro_f1")
#: Images per forward pass when the validation split is given as arrays.
BATCH = 256

#: The validation data: ``(x, y)`` arrays, or an iterable of ``(x, y)`` batches (a streaming input).
Validation = Union[tuple[np.ndarray, np.ndarray], Iterable[Any]]


def balanced_figures(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> dict[str, float]:
    """Balanced accuracy (mean recall over the classes present in ``y_true``) and macro F1
    (mean F1 over the classes that are true or predicted), as scikit-learn computes them."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if len(y_true) == 0:
        return {name: float("nan") for name in BALANCED_KEYS}
    n = max(num_classes or 0, int(y_true.max()) + 1, int(y_pred.max()) + 1)
    matrix = np.bincount(n * y_true + y_pred, minlength=n * n).reshape(n, n)
    hits, support, predicted = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    present = support > 0
    recall = hits[present] / support[present]
    seen = present | (predicted > 0)
    f1 = 2 * hits[seen] / (support[seen] + predicted[seen])
    return {"balanced_accuracy": float(recall.mean()), "macro_f1": float(f1.mean())}


def predicted_labels(model: keras.Model, validation: Validation) -> tuple[np.ndarray, np.ndarray]:
    """The true and predicted class of every validation image, one forward pass per batch.

    A single output unit (a hypermodel's sigmoid) is read as class 1 above 0.5.
    """
    truth: list[np.ndarray] = []
    guesses: list[np.ndarray] = []
    for x, y in _batches(validation):
        probs = np.asarray(keras.ops.convert_to_numpy(model.predict_on_batch(x)))
        probs = probs.reshape(len(probs), -1)
        guesses.append((probs[:, 0] > 0.5).astype(np.int64) if probs.shape[1] == 1 else probs.argmax(axis=1))
        truth.append(np.asarray(y).reshape(-1).astype(np.int64))
    if not truth:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(truth), np.concatenate(guesses)


def _batches(validation: Validation) -> Iterable[tuple[Any, Any]]:
    """Batches of ``(x, y)`` from arrays, or the input's own batches (extra items, such as weights, ignored).

    A ``keras.utils.PyDataset`` (``__len__`` and ``__getitem__``) is read by index, batch 0 to
    ``len - 1``: iterating one would not stop where its epoch ends.
    """
    if isinstance(validation, tuple) and len(validation) == 2 and isinstance(validation[0], np.ndarray):
        x, y = validation
        for start in range(0, len(x), BATCH):
            yield x[start : start + BATCH], y[start : start + BATCH]
        return
    if hasattr(validation, "__len__") and hasattr(validation, "__getitem__"):
        batches: Any = validation
        for index in range(len(batches)):
            batch = batches[index]
            yield batch[0], batch[1]
        return
    for batch in validation:
        yield batch[0], batch[1]


class BalancedMetrics(keras.callbacks.Callback):
    """Adds ``val_balanced_accuracy`` and ``val_macro_f1`` to each epoch's logs, in place.

    Fresh instance per fit (per trial, per fold). ``num_classes`` keeps a class that the
    model never predicts and the split lacks out of the means, as scikit-learn does.
    """

    def __init__(self, validation: Validation, num_classes: int | None = None) -> None:
        super().__init__()
        self.validation = validation
        self.num_classes = num_classes

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        y_true, y_pred = predicted_labels(self.model, self.validation)
        for name, value in balanced_figures(y_true, y_pred, self.num_classes).items():
            logs[f"val_{name}"] = value
