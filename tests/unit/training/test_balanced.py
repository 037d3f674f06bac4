"""Balanced accuracy and macro F1 per epoch: the same numbers as scikit-learn, in the logs every callback reads."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from cnnsearch.data import Splits
from cnnsearch.training import BalancedMetrics, fit
from cnnsearch.training._balanced import balanced_figures, predicted_labels


@pytest.mark.parametrize(
    ("classes", "predicted_classes"),
    [(4, 4), (5, 3), (3, 5)],  # all classes; a class never predicted; a class predicted but never true
)
def test_figures_match_scikit_learn(classes: int, predicted_classes: int) -> None:
    rng = np.random.default_rng(classes * 10 + predicted_classes)
    y_true = rng.choice(classes, size=300, p=np.linspace(1, 4, classes) / np.linspace(1, 4, classes).sum())
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, predicted_classes, 300))
    y_pred = np.minimum(y_pred, predicted_classes - 1)
    figures = balanced_figures(y_true, y_pred, num_classes=max(classes, predicted_classes))
    with pytest.warns(UserWarning) if predicted_classes > classes else _nothing():
        expected = balanced_accuracy_score(y_true, y_pred)
    assert figures["balanced_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert figures["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)
    # A class in neither the labels nor the predictions counts in neither mean.
    assert balanced_figures(y_true, y_pred, num_classes=9) == figures


def test_a_majority_guess_scores_chance_not_its_share() -> None:
    y_true = np.array([0] * 90 + [1] * 10)
    figures = balanced_figures(y_true, np.zeros(100, np.int64), num_classes=2)
    assert figures["balanced_accuracy"] == pytest.approx(0.5)
    assert figures["macro_f1"] == pytest.approx(f1_score(y_true, np.zeros(100), average="macro", zero_division=0))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _skewed(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bright, dark and mid-grey 8x8 images, 6:3:1: learnable in a couple of epochs, imbalanced."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    x = (np.array([200, 40, 120])[y][:, None, None, None] + rng.normal(0, 40, (n, 8, 8, 1))).clip(0, 255)
    return x.astype(np.uint8), y.astype(np.int64)


def _model() -> keras.Model:
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8)(hidden)))


class _Seen(keras.callbacks.Callback):
    """What a callback after BalancedMetrics finds in the logs (early stopping, pruning, MLflow stand there)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[set[str]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.keys.append(set(logs or {}))


@pytest.mark.slow
def test_fit_logs_both_each_epoch_before_other_callbacks_read_them() -> None:
    keras.utils.set_random_seed(1)
    x, y = _skewed(120)
    x_val, y_val = _skewed(60, seed=1)
    splits = Splits(x, y, x_val, y_val, x_val, y_val, ["bright", "dark", "grey"])
    params = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2}
    seen = _Seen()
    history = fit(_model(), splits, params, [seen]).history
    for key in ("val_balanced_accuracy", "val_macro_f1"):
        assert len(history[key]) == 2 and all(0.0 <= v <= 1.0 for v in history[key])
        assert all(key in keys for keys in seen.keys)


@pytest.mark.slow
def test_the_callback_scores_the_model_as_scikit_learn_does_arrays_or_batches() -> None:
    keras.utils.set_random_seed(2)
    x, y = _skewed(90)
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    y_pred = model.predict(x, verbose=0).argmax(1)
    logs: dict[str, Any] = {}
    callback = BalancedMetrics((x, y), num_classes=3)
    callback.set_model(model)
    callback.on_epoch_end(0, logs)
    assert logs["val_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, y_pred))
    assert logs["val_macro_f1"] == pytest.approx(f1_score(y, y_pred, average="macro", zero_division=0))
    # A streaming input: any iterable of (x, y) batches, such as a keras.utils.PyDataset.
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, len(x), 16)]
    streamed = predicted_labels(model, iter(batches))
    assert np.array_equal(streamed[0], y) and np.array_equal(streamed[1], y_pred)

    class Stream(keras.utils.PyDataset):
        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return batches[index]

    streamed = predicted_labels(model, Stream())
    assert np.array_equal(streamed[0], y) and np.array_equal(streamed[1], y_pred)


@pytest.mark.slow
def test_early_stopping_and_the_pruner_act_on_a_balanced_metric() -> None:
    import optuna

    from cnnsearch.search._callbacks import PruningCallback
    from cnnsearch.training import standard_callbacks

    x, y = _skewed(90)
    splits = Splits(x, y, x, y, x, y, ["bright", "dark", "grey"])
    # A learning rate of 0: the figures never improve, so patience 1 stops at the second epoch,
    # which only happens if EarlyStopping found val_macro_f1 in the logs (else it warns and trains on).
    params = {"optimizer": "adam", "learning_rate": 0.0, "batch_size": 32, "epochs": 6, "early_stopping_patience": 1}
    history = fit(_model(), splits, params, standard_callbacks(params, "val_macro_f1", "maximize")).history
    assert len(history["val_macro_f1"]) == 2

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(1, n_warmup_steps=0))
    perfect = study.ask()
    for step in range(6):
        perfect.report(1.0, step)
    study.tell(perfect, 1.0)
    trial = study.ask()
    pruning = PruningCallback(trial, "val_balanced_accuracy")
    history = fit(_model(), splits, {**params, "early_stopping_patience": 0}, [pruning]).history
    assert pruning.pruned_epoch == 0 and len(history["val_balanced_accuracy"]) == 1
    assert study.trials[1].intermediate_values == {0: history["val_balanced_accuracy"][0]}
