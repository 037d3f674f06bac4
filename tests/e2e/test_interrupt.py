"""Ctrl-C during training: a deferred stop ends ``model.fit`` at the next batch, untrained."""

from __future__ import annotations

import os
import signal

import pytest

from cnnsearch.search import _interrupt as interrupt
from cnnsearch.search._callbacks import SafePoint

pytestmark = pytest.mark.slow


def test_a_deferred_stop_ends_fit_before_the_next_batch() -> None:
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    batches: list[int] = []

    class AskOnThirdBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            batches.append(batch)
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    x, y = np.zeros((64, 4), "float32"), np.zeros(64, "int64")
    with interrupt.deferred(), pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[AskOnThirdBatch(), SafePoint()])
    assert batches == [0, 1, 2]
    assert int(model.optimizer.iterations) == 2  # the batch asked at was not trained
