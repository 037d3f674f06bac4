"""``study.final_share``: after exploring, the best params train once more for the time left."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

from cnnsearch._keys import EPOCHS_RUN_ATTR, FINAL_EPOCHS_ATTR, FINAL_OF_ATTR
from cnnsearch.api import run
from cnnsearch.spec import load_spec

pytestmark = pytest.mark.slow

# A timeout far longer than two 1-epoch trials: the final training is capped at 10 x train.epochs,
# so what it plans does not depend on this machine's speed.
BUDGET = ["study.timeout=900", "study.final_share=0.5"]


def test_the_best_params_train_once_more_then_never_again(tiny_spec_file, workdir: Path, capsys) -> None:
    path = tiny_spec_file(n_trials=2, epochs=1)
    study = run(load_spec(path, BUDGET))
    explored, last = study.trials[:2], study.trials[-1]
    assert len(study.trials) == 3 and last.state == TrialState.COMPLETE
    best = max((t for t in explored if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert last.user_attrs[FINAL_EPOCHS_ATTR] == 10 and last.user_attrs[FINAL_OF_ATTR] == best.number
    assert last.params == best.params
    assert last.user_attrs[EPOCHS_RUN_ATTR] >= 3  # more than train.epochs: early stopping's patience is 2
    assert f"final training: trial {best.number}'s params for 10 epochs" in capsys.readouterr().out
    # Resuming the finished study trains nothing more: one final training per study.
    study = run(load_spec(path, BUDGET))
    assert len(study.trials) == 3
    assert "final training" not in capsys.readouterr().out
