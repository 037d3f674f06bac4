"""Compile and fit's building blocks: optimizer knobs (momentum, decay, clipping) and the standard callbacks."""

from __future__ import annotations

import keras
import pytest

from cnnsearch.training import (
    make_optimizer,
    standard_callbacks,
)


def test_optimizer_knobs_reach_keras() -> None:
    adamw = make_optimizer({"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.05, "clipnorm": 1.5})
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == pytest.approx(0.05) and adamw.clipnorm == pytest.approx(1.5)
    sgd = make_optimizer({"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.8, "nesterov": True})
    assert sgd.momentum == pytest.approx(0.8) and sgd.nesterov is True and sgd.clipnorm is None
    # Old params (before these knobs) keep their old optimizers: SGD momentum 0.9, AdamW Keras's decay.
    old_sgd = make_optimizer({"optimizer": "sgd", "learning_rate": 0.1})
    assert old_sgd.momentum == pytest.approx(0.9) and old_sgd.nesterov is False
    assert make_optimizer({"optimizer": "adamw", "learning_rate": 0.1}).weight_decay == pytest.approx(0.004)


def test_a_schedule_replaces_the_plateau_callback() -> None:
    base = {"early_stopping_patience": 2, "reduce_lr_patience": 2}
    kinds = lambda params: {type(c).__name__ for c in standard_callbacks(params, "val_accuracy", "maximize")}  # noqa: E731
    assert "ReduceLROnPlateau" in kinds({**base, "lr_schedule": "constant"})
    assert "ReduceLROnPlateau" not in kinds({**base, "lr_schedule": "cosine"})
    assert "EarlyStopping" in kinds({**base, "lr_schedule": "cosine"})
