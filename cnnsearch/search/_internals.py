"""The few private Optuna and KerasTuner internals cnnsearch needs, each wrapped once here.

Each has no public equivalent (see the comment on each). Their tests
(``tests/unit/search/test_internals.py``) break when a library release changes
them, so an upgrade fails loudly in CI rather than quietly at run time.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The study's storage. Optuna exposes no public getter; writing user attributes of
    *another* process's trial (heartbeats, failing abandoned trials) needs the storage."""
    return study._storage


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial (not its number). Public only as a private attribute."""
    return trial._trial_id


def uses_optuna_heartbeat(study: optuna.Study) -> bool:
    """Whether Optuna's own heartbeat runs for this study's storage (RDB with heartbeat_interval).

    ``optuna.storages._heartbeat.is_heartbeat_enabled`` has no public alias.
    """
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return bool(is_heartbeat_enabled(storage_of(study)))


def keras_tuner_ladder(hp: Any) -> list[Any]:
    """Every value of a KerasTuner ``Int``/``Float`` with ``step`` and log sampling (16, 32, 64, ...).

    KerasTuner computes the count in the private ``_get_n_values``; the values follow from it.
    """
    return [hp.min_value * hp.step**i for i in range(hp._get_n_values())]


def hyperparameters_asking(suggest: Any) -> Any:
    """A ``keras_tuner.HyperParameters`` whose every new active value comes from ``suggest(hp)``.

    KerasTuner has no hook for where values come from; ``_register`` is where a new
    hyperparameter gets its default, so the subclass stores the suggestion first. Name
    scopes, ``conditional_scope`` and ``parent_name`` then work as in KerasTuner.
    """
    import keras_tuner

    class TrialHyperParameters(keras_tuner.HyperParameters):
        def _register(self, hyperparameter: Any, overwrite: bool = False) -> Any:
            if self.is_active(hyperparameter) and hyperparameter.name not in self.values:
                self.values[hyperparameter.name] = suggest(hyperparameter)
            return super()._register(hyperparameter, overwrite=False)

    return TrialHyperParameters()
