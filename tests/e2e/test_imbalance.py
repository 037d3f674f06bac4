"""Imbalanced classes, trained: class weights and oversampling raise minority recall; only the training split grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from cnnsearch.data import Splits, load
from cnnsearch.models import build
from cnnsearch.spec import DataSpec
from cnnsearch.training import fit

pytestmark = pytest.mark.slow


PLAIN = {
    "architecture": "plain",
    "blocks": 2,
    "filters": 16,
    "filter_growth": 2.0,
    "convs_per_block": 1,
    "kernel_size": 3,
    "batch_norm": False,
    "dropout": 0.0,
    "dense_units": 0,
    "head": "global_average",
    "epochs": 15,
    "batch_size": 32,
    "learning_rate": 0.003,
    "optimizer": "adam",
}


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory: pytest.TempPathFactory) -> Splits:
    """Digits with classes 5-9 cut to 8 training images each; the test split stays balanced."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images * 16).clip(0, 255).astype("uint8")
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.3, stratify=digits.target, random_state=0
    )
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [
            np.flatnonzero(y_train == c) if c < 5 else rng.choice(np.flatnonzero(y_train == c), 8, replace=False)
            for c in range(10)
        ]
    )
    path = Path(tmp_path_factory.mktemp("imbalanced")) / "digits.npz"
    np.savez(path, x_train=x_train[keep], y_train=y_train[keep], x_test=x_test, y_test=y_test)
    return load(DataSpec(dataset="npz", path=str(path), validation_split=0.1), seed=0)


def _minority_recall(splits: Splits, **extra: Any) -> float:
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    model = build(PLAIN, splits.input_shape, splits.num_classes)
    fit(model, splits, {**PLAIN, **extra}, [])
    predicted = model.predict(splits.x_test, verbose=0).argmax(1)
    return float(np.mean([np.mean(predicted[splits.y_test == c] == c) for c in range(5, 10)]))


def test_class_weights_and_oversampling_raise_minority_recall(imbalanced: Splits) -> None:
    counts = np.bincount(imbalanced.y_train)
    assert counts[:5].min() > 10 * counts[5:].max()  # really imbalanced
    plain = _minority_recall(imbalanced, class_weight="none")
    balanced = _minority_recall(imbalanced, class_weight="balanced")
    oversampled = _minority_recall(imbalanced, sampling="oversample")
    assert balanced > plain + 0.2, (plain, balanced)
    assert oversampled > plain + 0.2, (plain, oversampled)


def test_sampling_touches_the_training_split_only(imbalanced: Splits) -> None:
    class Count(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.batches += 1

    params = {**PLAIN, "epochs": 1, "batch_size": 10, "sampling": "oversample"}
    before = (imbalanced.x_train.copy(), imbalanced.x_val.copy())
    counter = Count()
    fit(build(params, imbalanced.input_shape, 10), imbalanced, params, [counter])
    largest = np.bincount(imbalanced.y_train).max()
    assert counter.batches == int(np.ceil(10 * largest / 10))  # every class grown to the largest
    np.testing.assert_array_equal(before[0], imbalanced.x_train)
    np.testing.assert_array_equal(before[1], imbalanced.x_val)
