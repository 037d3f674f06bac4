"""``study.folds``: each trial's value is the mean over k cross-validation folds, every fold's
weights are kept, an ensemble export is the mean of the best trial's fold models, and the
``wilcoxon`` pruner sees one value per fold. Behaviour, not accuracy.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest

import cnnsearch
from cnnsearch._keys import FOLD_VALUES_ATTR
from cnnsearch.data import load
from cnnsearch.export import ship
from cnnsearch.models._plain import inference_model
from cnnsearch.search import build_for_trial, fold_files, kept, ranked, suggest
from cnnsearch.spec import load_spec
from tests.helpers import SeedStore, SpecFile, SpecText

pytestmark = pytest.mark.slow
FOLDS = ["study.folds=2"]


@pytest.fixture(scope="module")
def study_dir(tiny_spec_text: SpecText, seed_store: SeedStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three complete 2-epoch trials on 2 folds, keep_top_k = 2."""
    root = tmp_path_factory.mktemp("folds")
    seed_store(root)
    (root / "tiny.toml").write_text(tiny_spec_text(n_trials=3, epochs=2, pruner="none"))
    cwd = Path.cwd()
    os.chdir(root)
    try:
        cnnsearch.run(root / "tiny.toml", overrides=[*FOLDS, "study.keep_top_k=2"], progress=False)
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture
def in_study(study_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(study_dir)
    return study_dir


def test_value_is_the_mean_of_the_folds_and_every_fold_is_kept(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", [*FOLDS, "study.keep_top_k=2"])
    study = cnnsearch.load_study(spec)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    for trial in study.trials:
        folds = trial.user_attrs[FOLD_VALUES_ATTR]
        assert len(folds) == 2
        assert trial.value == pytest.approx(np.mean(folds), abs=1e-5)
    best_two = [t.number for t in ranked(study)[:2]]
    assert sorted(kept(spec)) == sorted(best_two)
    for number in best_two:
        assert [p.name for p in fold_files(spec, number)] == [
            f"trial-{number}.weights.h5",
            f"trial-{number}.fold-1.weights.h5",
        ]
    dropped = ({0, 1, 2} - set(best_two)).pop()
    assert not list((in_study / "mlruns" / "weights" / "tiny").glob(f"trial-{dropped}.*"))


def test_ensemble_ships_the_mean_of_the_best_trials_fold_models(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", [*FOLDS, "study.keep_top_k=2"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    lines: list[str] = []
    shipped = ship(spec, study, splits, lines.append)
    best = ranked(study)[0]
    assert shipped.rule == "ensemble"
    assert shipped.description == f"mean of trial {best.number}'s 2 fold models"
    assert [(m["trial"], m["fold"]) for m in shipped.members] == [(best.number, 0), (best.number, 1)]
    assert [m["value"] for m in shipped.members] == pytest.approx(best.user_attrs[FOLD_VALUES_ATTR], abs=1e-5)
    fixed = optuna.trial.FixedTrial(dict(best.params))
    params = suggest(fixed, spec)
    twins = []
    for path in fold_files(spec, best.number):
        model = build_for_trial(spec, fixed, params, splits.input_shape, splits.num_classes).model
        model.load_weights(str(path))
        twins.append(inference_model(model, params, splits.input_shape, splits.num_classes))
    x = splits.x_test[:64]
    expected = np.mean([np.asarray(t.predict(x, verbose=0)) for t in twins], axis=0)
    np.testing.assert_allclose(np.asarray(shipped.model.predict(x, verbose=0)), expected, atol=1e-5)
    assert not np.allclose(np.asarray(twins[0].predict(x, verbose=0)), expected, atol=1e-3)  # two different models
    assert any("fold models" in line for line in lines)
    keras.backend.clear_session()


def test_fold_trials_ships_the_fold_models_of_several_best_trials(in_study: Path) -> None:
    """``export.fold_trials = 2``: both kept trials' fold models, best first, in one mean."""
    spec = load_spec(in_study / "tiny.toml", [*FOLDS, "study.keep_top_k=2", "export.fold_trials=3"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    lines: list[str] = []
    shipped = ship(spec, study, splits, lines.append)
    first, second = ranked(study)[:2]
    assert [(m["trial"], m["fold"]) for m in shipped.members] == [
        (first.number, 0),
        (first.number, 1),
        (second.number, 0),
        (second.number, 1),
    ]
    assert shipped.description == f"mean of trials {first.number}, {second.number}'s fold models (4 networks)"
    assert "Only 2 of the 3 best trials kept fold models" in lines  # keep_top_k = 2 bounds it
    one = ship(load_spec(in_study / "tiny.toml", [*FOLDS, "study.keep_top_k=2"]), study, splits, lines.append)
    x = splits.x_test[:64]
    wide, narrow = (np.asarray(m.predict(x, verbose=0)) for m in (shipped.model, one.model))
    assert not np.allclose(wide, narrow, atol=1e-4)  # the second trial's models count
    keras.backend.clear_session()


def test_wilcoxon_pruner_sees_one_value_per_fold(tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=3, epochs=1, pruner="none")
    study = cnnsearch.run(path, overrides=["study.folds=3", "study.pruner=wilcoxon"], progress=False)
    states = {t.state for t in study.trials}
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert len(study.trials) == 3
    for trial in study.trials:
        steps = sorted(trial.intermediate_values)
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert steps == [0, 1, 2]  # one report per fold, none per epoch
            assert trial.value == pytest.approx(np.mean([trial.intermediate_values[s] for s in steps]), abs=1e-5)
        else:
            assert steps and steps == list(range(len(steps))) and len(steps) < 3
