"""A hypermodel that leaves compiling to cnnsearch trains with the spec's searched schedule.

Before the layers split, the hypermodel module compiled such a model itself, without
steps or epochs, so a searched ``lr_schedule`` was logged but the rate stayed constant.
Now only the training layer compiles, with the schedule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import cnnsearch
from cnnsearch._keys import RUN_ID_ATTR
from cnnsearch.tracking import default_tracking_uri

pytestmark = pytest.mark.slow

UNCOMPILED = """
import keras
from keras import layers


def build(hp, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = layers.Conv2D(hp.Int("filters", 8, 16, step=8), 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))
"""

SPEC = """
[study]
name = "hyper-schedule"
n_trials = 1
sampler = "random"
pruner = "none"

[data]
dataset = "digits"
max_train_samples = 300

[model]
hypermodel = "uncompiled.py:build"

[train]
epochs = 3
batch_size = 64
learning_rate = 0.01
optimizer = "adam"
lr_schedule = {{ choices = ["{schedule}"] }}
reduce_lr_patience = {plateau}
early_stopping_patience = 0
"""


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_hypermodel_trial_learning_rate_follows_the_schedule(workdir: Path, schedule: str) -> None:
    (workdir / "uncompiled.py").write_text(UNCOMPILED)
    path = workdir / "spec.toml"
    # The plateau callback stays off for the constant rate, whose val_loss might stall once.
    path.write_text(SPEC.format(schedule=schedule, plateau=1 if schedule == "cosine" else 0))
    study = cnnsearch.run(path, progress=False)
    trial = study.trials[0]
    assert trial.state.name == "COMPLETE"
    assert trial.params["lr_schedule"] == schedule  # suggested (the hypermodel did not compile)
    client = MlflowClient(default_tracking_uri())
    run_id = trial.user_attrs[RUN_ID_ATTR]
    rates = [m.value for m in sorted(client.get_metric_history(run_id, "learning_rate"), key=lambda m: m.step)]
    assert len(rates) == 3
    if schedule == "cosine":
        # Cosine decay over 3 epochs from 0.01: about 0.0075, 0.0025, 0 at the epochs' ends.
        assert rates[0] < 0.0095 and rates[0] > rates[1] > rates[2]
        assert rates[2] < 1e-3
    else:
        assert rates == pytest.approx([0.01] * 3)
    assert client.get_run(run_id).data.params["lr_schedule"] == schedule
