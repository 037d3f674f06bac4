"""Weights kept for the top-k trials only: real training, real files, reloaded and re-scored."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from cnnsearch import data
from cnnsearch import search as space
from cnnsearch.api import run
from cnnsearch.models import build
from cnnsearch.search import _checkpoints as checkpoints
from cnnsearch.search import score
from cnnsearch.spec import load_spec
from cnnsearch.training import compile_model
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow


def test_only_the_top_k_trials_keep_weights(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file(n_trials=5, epochs=2, pruner="median")
    spec = load_spec(
        path, ["study.keep_top_k=2", "study.startup_trials=2", "train.learning_rate={low=1e-5,high=1e-2,log=true}"]
    )
    study = run(spec)

    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    best_two = sorted(complete, key=lambda t: (-(score(t) or 0.0), t.number))[:2]
    kept = checkpoints.kept(spec)
    assert sorted(kept) == sorted(t.number for t in best_two)
    assert all(t.number not in kept for t in study.trials if t.state != TrialState.COMPLETE)
    assert not list(checkpoints.weights_dir(spec).glob(".*"))  # no half-written files left

    # The kept file holds the trial's best-epoch weights: reloaded, it scores the trial's value.
    top = best_two[0]
    splits = data.load(spec.data, seed=spec.study.seed)
    params = space.suggest(optuna.trial.FixedTrial(top.params), spec)
    model = build(params, splits.input_shape, splits.num_classes)
    model.load_weights(str(kept[top.number]))
    compile_model(model, params)
    _, accuracy = model.evaluate(splits.x_val, splits.y_val, verbose=0)
    assert np.isclose(accuracy, score(top) or 0.0, atol=1e-6)


def test_keep_top_k_zero_keeps_nothing(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(n_trials=1, epochs=1), ["study.keep_top_k=0"])
    run(spec)
    assert checkpoints.kept(spec) == {}
