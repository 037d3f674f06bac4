"""Imbalanced classes: class weights and resampling, on the training split only."""

from __future__ import annotations

import numpy as np
import pytest

from cnnsearch.errors import SpecError
from cnnsearch.training import resample
from cnnsearch.training._imbalance import class_weights, metric_name
from tests.helpers import SpecFile


def test_balanced_weights_match_scikit_learn() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0] * 50 + [1] * 10 + [2] * 5)
    weights = class_weights("balanced", y, ["a", "b", "c"])
    assert weights is not None
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    assert [weights[c] for c in range(3)] == pytest.approx(list(expected))
    assert class_weights("none", y, ["a", "b", "c"]) is None


def test_explicit_weights_by_name_or_index() -> None:
    y = np.array([0, 1, 2, 2])
    assert class_weights({"cat": 3.0, "2": 0.5}, y, ["dog", "cat", "bird"]) == {0: 1.0, 1: 3.0, 2: 0.5}
    with pytest.raises(SpecError, match="no class 'horse'"):
        class_weights({"horse": 2.0}, y, ["dog", "cat", "bird"])
    assert metric_name("T-shirt/top") == "T-shirt_top"


def test_resampling_evens_the_classes() -> None:
    x = np.arange(70).reshape(70, 1, 1, 1)
    y = np.array([0] * 50 + [1] * 15 + [2] * 5)
    rng = np.random.default_rng(0)
    xo, yo = resample(x, y, "oversample", rng)
    assert np.bincount(yo).tolist() == [50, 50, 50]
    assert set(xo.ravel()) == set(x.ravel())  # every original image kept, minorities repeated
    assert all((xo.ravel()[yo == c] >= 0).all() for c in range(3))
    xu, yu = resample(x, y, "undersample", rng)
    assert np.bincount(yu).tolist() == [5, 5, 5]
    assert all(y[xu.ravel()] == yu)  # images keep their labels
    assert resample(x, y, "none") == (x, y)


def test_per_class_figures_are_one_table() -> None:
    """Recall, F1 and support per class, a row per class: what the trial run logs as one artifact."""
    import keras

    from cnnsearch.training import per_class_metrics

    # A fixed "model" that always answers class 1.
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", kernel_initializer="zeros")(inputs))
    model.layers[-1].set_weights([np.zeros((2, 3)), np.array([0.0, 5.0, 0.0])])
    x = np.zeros((4, 2), dtype="float32")
    table = per_class_metrics(model, x, np.array([0, 1, 1, 2]), ["cat", "dog", "bird"])
    assert table == {
        "class": ["cat", "dog", "bird"],
        "recall": [0.0, 1.0, 0.0],
        "f1": [0.0, pytest.approx(2 / 3, abs=1e-6), 0.0],
        "support": [1, 2, 1],
    }


def test_auto_is_settled_on_the_training_split_and_said_why(tiny_spec_file: SpecFile) -> None:
    from cnnsearch.data import Splits
    from cnnsearch.spec import load_spec
    from cnnsearch.training import settle_metric

    auto = load_spec(tiny_spec_file(), ["study.metric=auto"])
    x = np.zeros((1, 4, 4, 1), np.uint8)

    def splits(counts: list[int]) -> Splits:
        y = np.repeat(np.arange(len(counts)), counts)
        # Validation and test are balanced here: only the training split decides.
        return Splits(np.repeat(x, len(y), 0), y, x, np.zeros(1, np.int64), x, np.zeros(1, np.int64), ["cat", "dog"])

    skewed, line = settle_metric(auto, splits([60, 12]))
    assert skewed.study.metric == "val_balanced_accuracy" and skewed.study.direction == "maximize"
    assert line is not None and line.startswith('study.metric = "auto": val_balanced_accuracy, the training split is')
    assert "'cat' 60 images, smallest 'dog' 12: 5.00x" in line
    even, line = settle_metric(auto, splits([40, 36]))
    assert even.study.metric == "val_accuracy" and line is not None and "balanced enough" in line
    named = load_spec(tiny_spec_file(), ["study.metric=val_macro_f1"])
    assert settle_metric(named, splits([60, 12])) == (named, None)
