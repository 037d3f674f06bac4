"""Label smoothing on integer labels: the same loss as Keras's categorical one, and serialisable."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnsearch.training._losses import SparseSmoothedCrossentropy, make_loss


def test_label_smoothing_on_integer_labels_matches_the_categorical_loss() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=6).astype("float32")
    labels = np.array([0, 1, 2, 3, 1, 0])
    smoothed = SparseSmoothedCrossentropy(0.1)(labels, probs)
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(4)[labels], probs)
    assert float(smoothed) == pytest.approx(float(expected), rel=1e-5)
    assert float(smoothed) != pytest.approx(
        float(keras.losses.SparseCategoricalCrossentropy()(labels, probs)), rel=1e-3
    )
    assert make_loss({"label_smoothing": 0.0}) == "sparse_categorical_crossentropy"
    restored = keras.losses.deserialize(keras.losses.serialize(SparseSmoothedCrossentropy(0.2)))
    assert restored.label_smoothing == pytest.approx(0.2)
