"""Suggestions: the only caller of ``trial.suggest_*``, on real in-memory Optuna studies (no training).

The conditional space (each architecture's and each optimizer's own params) and
KerasTuner ``hp`` calls turned into Optuna params.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from cnnsearch.search import suggest
from cnnsearch.search._suggest import trial_hyperparameters
from cnnsearch.spec import PLAIN_FIELDS, load_build_function, validate_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "search_spaces" / "hypermodels" / "digits_hypermodel.py"
ALL = ["plain", "residual", "mobilenet_v2", "resnet50", "efficientnet_b0"]


def test_hp_calls_become_optuna_params_and_inactive_ones_are_not_suggested() -> None:
    build = load_build_function(f"{EXAMPLE}:build")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"head": "flatten", "conv_layers": 1})
    study.enqueue_trial({"head": "dense", "conv_layers": 2})

    def objective(trial: optuna.Trial) -> float:
        hp = trial_hyperparameters(trial)
        model = build(hp)
        trial.set_user_attr("values", dict(hp.values))
        return float(model.count_params())

    study.optimize(objective, n_trials=4)
    flat, dense = study.trials[0], study.trials[1]
    assert set(flat.params) == {"conv_layers", "filters_0", "batch_norm_0", "head", "learning_rate"}
    assert set(dense.params) == {
        "conv_layers",
        "filters_0",
        "batch_norm_0",
        "filters_1",
        "batch_norm_1",
        "head",
        "dense_units",
        "dropout",
        "learning_rate",
    }
    # hp.Int(..., step=2, sampling="log") is KerasTuner's ladder 16, 32, 64.
    assert isinstance(dense.distributions["filters_0"], optuna.distributions.CategoricalDistribution)
    assert dense.distributions["filters_0"].choices == (16, 32, 64)
    dropout, learning_rate = dense.distributions["dropout"], dense.distributions["learning_rate"]
    assert isinstance(dropout, optuna.distributions.FloatDistribution) and dropout.step == pytest.approx(0.1)
    assert isinstance(learning_rate, optuna.distributions.FloatDistribution) and learning_rate.log
    # hp.Fixed is a value, not a search dimension.
    assert flat.user_attrs["values"]["source"] == "keras-tuner example" and "source" not in flat.params
    for trial in study.trials:
        assert ("dense_units" in trial.params) == (trial.params["head"] == "dense")


def test_a_trial_holds_only_its_architectures_params() -> None:
    spec = validate_spec(
        {
            "study": {"name": "x"},
            "data": {"dataset": "digits"},
            "model": {
                "architecture": {"choices": ALL},
                "backbone": {"freeze": {"choices": ["all", "none", 5]}, "alpha": {"choices": [0.35, 0.5]}},
            },
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = suggest(trial, spec)
        chosen = trial.params["architecture"]
        seen.add(chosen)
        names = set(trial.params)
        model_names = {n for n in names if n in PLAIN_FIELDS or n.startswith(("residual_", "backbone_"))}
        if chosen == "plain":
            assert model_names and model_names <= PLAIN_FIELDS
        elif chosen == "residual":
            assert model_names == {"residual_stages", "residual_blocks_per_stage", "residual_width", "residual_dropout"}
        else:
            expected = {"backbone_freeze"} | ({"backbone_alpha"} if chosen == "mobilenet_v2" else set())
            assert model_names == expected
            assert params["backbone_weights"] == "none"  # constants are in the params, not in Optuna's
        # The same params rebuild from the recorded ones alone (best --export does this).
        assert suggest(optuna.trial.FixedTrial(trial.params), spec) == params
        study.tell(trial, 0.5)
    assert seen == set(ALL)
    # Optuna's own view: each parameter's distribution appears only in trials of its architecture.
    for frozen in study.trials:
        if "residual_width" in frozen.distributions:
            assert frozen.params["architecture"] == "residual"


def test_optimizer_params_are_conditional_on_the_optimizer() -> None:
    spec = validate_spec(
        {
            "study": {"name": "x"},
            "data": {"dataset": "digits"},
            "train": {
                "optimizer": {"choices": ["adam", "adamw", "sgd"]},
                "weight_decay": {"low": 1e-5, "high": 1e-1, "log": True},
                "momentum": {"low": 0.8, "high": 0.99},
                "nesterov": {"choices": [True, False]},
                "lr_schedule": {"choices": ["constant", "warmup_cosine"]},
                "warmup_epochs": {"low": 1, "high": 3},
            },
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        suggest(trial, spec)
        names, optimizer = set(trial.params), trial.params["optimizer"]
        seen.add(optimizer)
        assert ("weight_decay" in names) == (optimizer == "adamw")
        assert ({"momentum", "nesterov"} <= names) == (optimizer == "sgd") and ("momentum" in names) == (
            optimizer == "sgd"
        )
        assert ("warmup_epochs" in names) == (trial.params["lr_schedule"] == "warmup_cosine")
        study.tell(trial, 0.0)
    assert seen == {"adam", "adamw", "sgd"}
