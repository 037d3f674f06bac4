"""`[export] ship`: what an export ships, on one tiny digits study shared by the module.

Behaviour, not accuracy: the ensemble is one model whose output is the mean of its
members (the best kept checkpoints, best first), the checkpoint rule ships the best
trial's kept weights unchanged, every format of an ensemble reloads and agrees, and a
rule that needs checkpoints falls back to a retrain when none were kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest

import cnnsearch
from cnnsearch.data import Splits, load
from cnnsearch.export import ship
from cnnsearch.models._plain import inference_model
from cnnsearch.search import build_for_trial, kept, ranked, suggest
from cnnsearch.spec import Spec, load_spec
from tests.conftest import Invoke
from tests.helpers import SeedStore, SpecFile, SpecText

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study_dir(tiny_spec_text: SpecText, seed_store: SeedStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four complete 2-epoch trials with their weights kept (keep_top_k = 3)."""
    root = tmp_path_factory.mktemp("shipping")
    seed_store(root)
    (root / "tiny.toml").write_text(tiny_spec_text(n_trials=4, epochs=2, pruner="none"))
    cwd = Path.cwd()
    os.chdir(root)
    try:
        cnnsearch.run(root / "tiny.toml", progress=False)
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture
def in_study(study_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(study_dir)
    return study_dir


def _checkpoint_twin(spec: Spec, trial: optuna.trial.FrozenTrial, splits: Splits) -> keras.Model:
    """A kept trial's network, rebuilt by hand from its params and weights file."""
    fixed = optuna.trial.FixedTrial(dict(trial.params))
    params = suggest(fixed, spec)
    model = build_for_trial(spec, fixed, params, splits.input_shape, splits.num_classes).model
    model.load_weights(str(kept(spec)[trial.number]))
    return inference_model(model, params, splits.input_shape, splits.num_classes)


def test_ensemble_is_the_mean_of_the_best_kept_checkpoints(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", ["export.ship=ensemble"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    lines: list[str] = []
    shipped = ship(spec, study, splits, lines.append)
    best_three = [t.number for t in ranked(study)[:3]]
    assert shipped.rule == "ensemble"
    assert [m["trial"] for m in shipped.members] == best_three
    assert shipped.description == "mean of trials " + ", ".join(map(str, best_three))
    assert [m["value"] for m in shipped.members] == sorted((m["value"] for m in shipped.members), reverse=True)
    x = splits.x_test[:64]
    members = [_checkpoint_twin(spec, study.trials[n], splits) for n in best_three]
    expected = np.mean([np.asarray(m.predict(x, verbose=0)) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(shipped.model.predict(x, verbose=0)), expected, atol=1e-5)
    assert any("Shipping the mean of trials" in line for line in lines)


def test_checkpoint_rule_ships_the_best_trials_weights_unchanged(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", ["export.ship=checkpoint"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    shipped = ship(spec, study, splits, lambda line: None)
    best = ranked(study)[0]
    assert (shipped.rule, [m["trial"] for m in shipped.members]) == ("checkpoint", [best.number])
    assert shipped.history == {}  # nothing retrained
    x = splits.x_test[:64]
    reference = _checkpoint_twin(spec, best, splits).predict(x, verbose=0)
    np.testing.assert_allclose(shipped.model.predict(x, verbose=0), reference, atol=1e-6)


def test_a_rule_without_kept_weights_falls_back_to_a_retrain(in_study: Path, tmp_path: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", ["export.ship=checkpoint"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    weights = in_study / "mlruns" / "weights" / "tiny"
    moved = tmp_path / "weights"
    weights.rename(moved)  # as after keep_top_k = 0, or a cleaned-up store
    try:
        lines: list[str] = []
        shipped = ship(spec, study, splits, lines.append)
    finally:
        moved.rename(weights)
    assert shipped.rule == "retrain"
    assert shipped.history["loss"] and shipped.training["train_samples"] == len(splits.x_train) + len(splits.x_val)
    # For the epochs the best trial's early stopping kept.
    assert shipped.training["epochs"] == shipped.training["trial_best_epoch"] + 1 == len(shipped.history["loss"])
    # The true reason: same machine, local store, the file is gone (not keep_top_k, which is 3 here).
    assert any(
        "has no kept weights here: its weights file is not in" in line and "Retraining it instead" in line
        for line in lines
    ), lines
    assert not any("keep_top_k" in line for line in lines), lines


def test_ensemble_export_averages_the_kept_members(in_study: Path) -> None:
    """Keras only: every format on an ensemble is tests/unit/export/test_model_kinds.py's."""
    result = cnnsearch.export_best(
        in_study / "tiny.toml",
        in_study / "exports" / "ensemble",
        formats="keras",
        overrides=["export.ship=ensemble"],
        say=lambda s: None,
    )
    card = result.card
    assert card["shipped"]["rule"] == "ensemble" and len(card["shipped"]["members"]) == 3
    assert [e["format"] for e in card["exports"]] == ["keras"]
    for export in card["exports"]:
        assert export["max_prob_diff"] <= 1e-3 and export["label_agreement"] >= 0.99
    markdown = (result.directory / "model_card.md").read_text()
    assert "mean of trials" in markdown and "weights `trial-" in markdown
    loaded = keras.models.load_model(result.directory / "model.keras")
    assert [layer.name for layer in loaded.layers if layer.name.startswith("member_")] == [
        "member_0",
        "member_1",
        "member_2",
    ]


def test_ensemble_larger_than_the_kept_checkpoints_takes_those_kept(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", ["export.ship=ensemble", "export.ensemble_size=4"])
    study = cnnsearch.load_study(spec)
    lines: list[str] = []
    shipped = ship(spec, study, load(spec.data, spec.study.seed), lines.append)
    assert [m["trial"] for m in shipped.members] == [t.number for t in ranked(study) if t.number in kept(spec)]
    assert len(shipped.members) == 3
    assert any("Only 3 of the 4 best trials' weights are kept (study.keep_top_k = 3)" in line for line in lines)


def test_rerank_cross_validates_the_best_trials_and_ships_the_winners_fold_models(in_study: Path) -> None:
    spec = load_spec(in_study / "tiny.toml", ["export.ship=ensemble", "export.rerank=2", "export.rerank_folds=2"])
    study = cnnsearch.load_study(spec)
    splits = load(spec.data, spec.study.seed)
    lines: list[str] = []
    shipped = ship(spec, study, splits, lines.append)
    best_two = [t.number for t in ranked(study)[:2]]
    table = shipped.rerank
    assert sorted(r["trial"] for r in table) == sorted(best_two)  # the two best, each on both folds
    assert all(len(r["folds"]) == 2 and r["mean"] == pytest.approx(np.mean(r["folds"])) for r in table)
    assert [r["mean"] for r in table] == sorted((r["mean"] for r in table), reverse=True)
    winner = table[0]["trial"]
    assert shipped.trial is not None and shipped.trial.number == winner
    assert shipped.rule == "ensemble" and [(m["trial"], m["fold"]) for m in shipped.members] == [
        (winner, 0),
        (winner, 1),
    ]
    assert [m["value"] for m in shipped.members] == table[0]["folds"]
    assert any(f"Trial {winner} wins the re-ranking" in line for line in lines)
    # checkpoint: the winner's own kept weights, with the re-ranking recorded
    checkpoint = ship(
        spec.model_copy(update={"export": spec.export.model_copy(update={"ship": "checkpoint"})}),
        study,
        splits,
        lambda line: None,
    )
    assert [m["trial"] for m in checkpoint.members] == [checkpoint.rerank[0]["trial"]]


def test_rerank_on_a_cross_validated_study_is_refused(invoke: Invoke, tiny_spec_file: SpecFile) -> None:
    line = invoke.error_line("validate", str(tiny_spec_file()), "--set", "study.folds=3", "--set", "export.rerank=2")
    assert "export.rerank" in line and "study.folds" in line
