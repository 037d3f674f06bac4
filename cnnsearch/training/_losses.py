"""Cross-entropy on integer labels with label smoothing.

Keras's SparseCategoricalCrossentropy has no ``label_smoothing``; the categorical one
has, but wants one-hot labels. This loss one-hots the integer labels inside (with
``keras.ops``, any backend), so the data, class weights and the ``accuracy`` metric
keep working on integer labels.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cnnsearch")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy against smoothed one-hot targets built from integer labels."""

    def __init__(self, label_smoothing: float = 0.0, name: str = "sparse_smoothed_crossentropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(targets, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def make_loss(params: dict[str, Any]) -> str | keras.losses.Loss:
    """Plain sparse cross-entropy, or the smoothed one when the params ask for smoothing."""
    smoothing = float(params.get("label_smoothing", 0.0))
    return SparseSmoothedCrossentropy(smoothing) if smoothing > 0 else "sparse_categorical_crossentropy"
