"""Start-up trials around the initial params: one param changed each, to an adjacent, valid value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from cnnsearch._keys import INITIAL_ATTR, NEIGHBOUR_ATTR
from cnnsearch.errors import SpecError
from cnnsearch.search import enqueue_initial_params, open_study
from cnnsearch.search._neighbours import neighbours
from cnnsearch.spec import Spec, validate_spec

PRIOR = {"filters": 32, "learning_rate": 0.004, "dropout": 0.2, "optimizer": "adam", "blocks": 2, "batch_norm": True}
SPACE = {
    "model": {
        "filters": {"choices": [16, 32, 64]},
        "dropout": {"low": 0.0, "high": 0.4},
        "blocks": {"low": 1, "high": 3},
        "batch_norm": {"choices": [True, False]},
    },
    "train": {
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "optimizer": {"choices": ["adam", "sgd", "adamw"]},
    },
}


def _spec(tmp_path: Path | None = None, **study: Any) -> Spec:
    study = {"name": "near", "initial_params": PRIOR, **study}
    if tmp_path is not None:
        study["storage"] = str(tmp_path / "near.journal")
    return validate_spec({"study": study, "data": {"dataset": "digits"}, **SPACE})


def test_each_neighbour_changes_one_param_to_an_adjacent_valid_value() -> None:
    spec = _spec(initial_neighbours=6, seed=3)
    found = neighbours(spec)
    assert len(found) == 6
    changed = []
    for label, params in found:
        diff = {name for name in PRIOR if params[name] != PRIOR[name]}
        assert len(diff) == 1 and set(params) == set(PRIOR)
        (name,) = diff
        assert label == f"{name}={params[name]!r}"
        changed.append(name)
        _spec(initial_params=params)  # valid: the same check a user's own initial_params get
        value = params[name]
        if name == "filters":
            assert value in (16, 64)  # the choices next to 32, never a jump
        if name == "learning_rate":
            assert value == pytest.approx(0.008) or value == pytest.approx(0.002)
        if name == "blocks":
            assert value in (1, 3)
        if name == "dropout":
            assert value == pytest.approx(0.3) or value == pytest.approx(0.1)
    assert len(set(changed)) == 6  # round-robin: six params, six different ones


def test_neighbours_are_seeded_distinct_and_limited_to_neighbour_params() -> None:
    spec = _spec(initial_neighbours=4, seed=7)
    assert neighbours(spec) == neighbours(_spec(initial_neighbours=4, seed=7))
    assert [label for label, _ in neighbours(spec)] != [
        label for label, _ in neighbours(_spec(initial_neighbours=4, seed=8))
    ]
    only = neighbours(_spec(initial_neighbours=5, neighbour_params=["filters", "optimizer"]))
    # Two params have only 2 + 2 other values: four distinct neighbours, not five repeats.
    assert len(only) == 4 and len({label for label, _ in only}) == 4
    assert {label.split("=")[0] for label, _ in only} == {"filters", "optimizer"}
    assert neighbours(_spec()) == []


def test_the_initial_trial_then_its_neighbours_are_queued_once(tmp_path: Path) -> None:
    spec = _spec(tmp_path, initial_neighbours=2)
    study = open_study(spec)
    enqueue_initial_params(study, spec)
    enqueue_initial_params(study, spec)  # a resume or a second worker queues nothing more
    first, *rest = study.trials
    assert len(rest) == 2 and all(t.state == optuna.trial.TrialState.WAITING for t in study.trials)
    assert first.user_attrs[INITIAL_ATTR] is True and first.system_attrs["fixed_params"] == PRIOR
    assert [t.user_attrs[NEIGHBOUR_ATTR] for t in rest] == [label for label, _ in neighbours(spec)]
    assert [t.system_attrs["fixed_params"] for t in rest] == [params for _, params in neighbours(spec)]


def test_a_log_range_too_narrow_to_double_or_halve_takes_one_step() -> None:
    spec = validate_spec(
        {
            "study": {"name": "narrow", "initial_params": {"blocks": 3}, "initial_neighbours": 1},
            "data": {"dataset": "digits"},
            "model": {"blocks": {"low": 3, "high": 4, "log": True}},
        }
    )
    assert neighbours(spec) == [("blocks=4", {"blocks": 4})]


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({"initial_params": {}, "initial_neighbours": 2}, "initial_neighbours: neighbours change the initial params"),
        (
            {"initial_neighbours": 2, "neighbour_params": ["kernel_size"]},
            "neighbour_params: 'kernel_size' is not among",
        ),
    ],
)
def test_neighbours_without_a_prior_are_refused(study: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _spec(**study)


@pytest.mark.parametrize(("prunable", "epochs_run"), [(True, 1), (False, 3)])
def test_planned_start_up_trials_report_every_epoch_but_the_pruner_does_not_stop_them(
    prunable: bool, epochs_run: int
) -> None:
    """A pruner that prunes everything stops an ordinary trial after its first epoch, not a planned one."""
    import keras
    import numpy as np

    from cnnsearch.search._callbacks import PruningCallback

    trial = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0)).ask()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 2
    pruning = PruningCallback(trial, "val_accuracy", prunable=prunable)
    history = model.fit(x, y, validation_data=(x, y), epochs=3, callbacks=[pruning], verbose=0).history
    assert len(history["loss"]) == epochs_run
    assert pruning.pruned_epoch == (0 if prunable else None)
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == list(range(epochs_run))
    keras.backend.clear_session()
