"""Opening a study from a spec: each sampler and pruner name, the journal storage, resume, initial params."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import optuna
import pytest

from cnnsearch._keys import INITIAL_ATTR, SPEC_SHA_ATTR
from cnnsearch.errors import CnnsearchError, SpecError
from cnnsearch.search import enqueue_initial_params, load_study, open_study, suggest
from cnnsearch.search._study import make_pruner, make_sampler
from cnnsearch.spec import Spec, spec_to_toml, validate_spec

#: Each spec sampler name and the Optuna sampler it makes.
SAMPLERS = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "gp": optuna.samplers.GPSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "qmc": optuna.samplers.QMCSampler,
    "grid": optuna.samplers.GridSampler,
}
#: Each spec pruner name and the Optuna pruner it makes.
PRUNERS = {
    "hyperband": optuna.pruners.HyperbandPruner,
    "median": optuna.pruners.MedianPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "none": optuna.pruners.NopPruner,
}
#: Every searched field with a step or choices: the grid sampler accepts it.
GRID_READY = {
    "model": {"dropout": {"choices": [0.0, 0.2]}},
    "train": {"learning_rate": {"choices": [0.001, 0.01]}},
}


def _spec(tmp_path: Path | None = None, **study: Any) -> Spec:
    study = {"name": "opened", **study}
    if tmp_path is not None:
        study.setdefault("storage", str(tmp_path / "opened.journal"))
    return validate_spec({"study": study, "data": {"dataset": "digits"}, **GRID_READY})


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_each_sampler_name_makes_its_optuna_sampler(name: str) -> None:
    spec = _spec(sampler=name)
    if name == "gp" and importlib.util.find_spec("torch") is None:
        with pytest.raises(SpecError, match="the 'gp' sampler needs PyTorch"):
            make_sampler(spec, seed=1)
        return
    assert type(make_sampler(spec, seed=1)) is SAMPLERS[name]


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_each_sampler_draws_the_spec_space_in_a_real_study(name: str) -> None:
    """Three trials of the digits space through ``suggest``, told a value each: what a study's ask
    and tell do around training (the grid needs steps or choices, cmaes and gp fall back for categoricals)."""
    if name == "gp" and importlib.util.find_spec("torch") is None:
        pytest.skip("the gp sampler needs PyTorch")
    spec = _spec(sampler=name, startup_trials=1)
    study = optuna.create_study(sampler=make_sampler(spec, seed=1), direction="maximize")
    for value in (0.1, 0.5, 0.3):
        trial = study.ask()
        params = suggest(trial, spec)
        assert params and set(trial.params) <= set(params)
        study.tell(trial, value)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    if name == "grid":  # a grid never repeats a point
        assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 3


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_each_pruner_name_makes_its_optuna_pruner(name: str) -> None:
    assert type(make_pruner(_spec(pruner=name))) is PRUNERS[name]


def test_before_any_run_load_study_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CnnsearchError, match="^no study named 'opened' yet: run `cnnsearch run` on this spec first$"):
        load_study(_spec(tmp_path))


def test_open_study_creates_a_journal_and_resumes_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, direction="minimize", metric="val_loss")
    study = open_study(spec)
    assert (tmp_path / "opened.journal").is_file()
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    # A short reference to the spec (its sha256), not the spec itself; the metric names the objective.
    assert study.user_attrs == {SPEC_SHA_ATTR: hashlib.sha256(spec_to_toml(spec).encode()).hexdigest()}
    assert study.metric_names == ["val_loss"]
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, 0.3)
    again = open_study(spec)  # the same spec: resumed, not a new study
    assert [t.value for t in again.trials] == [0.3]
    assert [t.value for t in load_study(spec).trials] == [0.3]


def test_the_default_storage_is_a_journal_under_mlruns(workdir: Path) -> None:
    open_study(_spec(name="my study"))
    assert (workdir / "mlruns" / "studies" / "my_study.journal").is_file()


def test_initial_params_are_queued_once(tmp_path: Path) -> None:
    spec = validate_spec(
        {
            "study": {"name": "first", "storage": str(tmp_path / "f.journal"), "initial_params": {"filters": 16}},
            "data": {"dataset": "digits"},
            "model": {"filters": {"choices": [8, 16]}},
        }
    )
    study = open_study(spec)
    enqueue_initial_params(study, spec)
    enqueue_initial_params(study, spec)
    (queued,) = study.trials
    assert queued.state == optuna.trial.TrialState.WAITING
    assert queued.system_attrs["fixed_params"] == {"filters": 16} and queued.user_attrs[INITIAL_ATTR] is True
    assert study.user_attrs[INITIAL_ATTR] is True
    without = _spec(tmp_path, name="plain")
    enqueue_initial_params(open_study(without), without)  # no initial_params: nothing queued
    assert open_study(without).trials == []


OBJECTIVES = [{"metric": "val_accuracy", "direction": "maximize"}, {"metric": "latency_ms", "direction": "minimize"}]


def test_objectives_open_a_multi_objective_study_without_optuna_pruning(tmp_path: Path) -> None:
    spec = _spec(tmp_path, objectives=OBJECTIVES, pruner="median")
    study = open_study(spec)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["val_accuracy", "latency_ms"]
    # Optuna's trial.report raises in such a study: the cost-group rule prunes instead (search/_cost_pruning.py).
    assert type(make_pruner(spec)) is optuna.pruners.NopPruner
    assert type(make_sampler(spec, seed=1)) is optuna.samplers.TPESampler


def test_a_study_made_with_other_objectives_is_refused(tmp_path: Path) -> None:
    open_study(_spec(tmp_path))
    with pytest.raises(CnnsearchError, match="^study 'opened' was made to maximize val_accuracy; this spec's "):
        open_study(_spec(tmp_path, objectives=OBJECTIVES))
