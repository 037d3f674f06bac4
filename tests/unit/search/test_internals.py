"""The private Optuna and KerasTuner internals cnnsearch wraps (cnnsearch/search/_internals.py).

These break when a library release changes what they rely on: an upgrade then fails
here, in CI, instead of at run time in a user's study.
"""

from __future__ import annotations

from pathlib import Path

import keras_tuner
import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from cnnsearch.search._internals import (
    hyperparameters_asking,
    keras_tuner_ladder,
    storage_of,
    trial_id,
    uses_optuna_heartbeat,
)


def test_storage_and_trial_id_reach_another_trial(tmp_path: Path) -> None:
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "s.journal")))
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    assert storage_of(study) is storage
    number = trial_id(trial)
    storage_of(study).set_trial_user_attr(number, "beat", 1.5)  # what the heartbeat thread does
    assert study.trials[0].user_attrs == {"beat": 1.5}
    assert trial_id(study.trials[0]) == number


def test_optuna_heartbeat_only_where_enabled(tmp_path: Path) -> None:
    assert not uses_optuna_heartbeat(optuna.create_study())
    journal = JournalStorage(JournalFileBackend(str(tmp_path / "s.journal")))
    assert not uses_optuna_heartbeat(optuna.create_study(storage=journal))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert not uses_optuna_heartbeat(optuna.create_study(storage=RDBStorage(url), study_name="plain"))
    beating = RDBStorage(url, heartbeat_interval=10, grace_period=60)
    assert uses_optuna_heartbeat(optuna.create_study(storage=beating, study_name="beating"))


def test_keras_tuner_log_ladder() -> None:
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 16, 128, step=2, sampling="log")
    hp.Float("rate", 0.001, 0.1, step=10, sampling="log")
    units, rate = hp.space
    assert keras_tuner_ladder(units) == [16, 32, 64, 128]
    assert [round(v, 6) for v in keras_tuner_ladder(rate)] == [0.001, 0.01, 0.1]


def test_hyperparameters_take_new_values_from_the_suggester_once() -> None:
    asked: list[str] = []

    def suggest(hp: object) -> object:
        name = hp.name  # type: ignore[attr-defined]
        asked.append(name)
        return {"layers": 2, "head": "dense", "units": 96}[name]

    hp = hyperparameters_asking(suggest)
    assert isinstance(hp, keras_tuner.HyperParameters)
    assert hp.Int("layers", 1, 3) == 2
    assert hp.Choice("head", ["flat", "dense"]) == "dense"
    with hp.conditional_scope("head", ["dense"]):
        assert hp.Int("units", 32, 128, step=32) == 96
    with hp.conditional_scope("head", ["flat"]):
        assert hp.Int("never", 1, 5) is None  # an inactive scope: no value, nothing asked
    assert hp.Int("layers", 1, 3) == 2  # asked again: the stored value
    assert asked == ["layers", "head", "units"]
    assert hp.values["units"] == 96
