"""``study.final_share``: after exploring, the best params train once more for the time left."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

from cnnsearch._keys import (
    EPOCHS_RUN_ATTR,
    EXPLORATION_DEADLINE_ATTR,
    FINAL_EPOCHS_ATTR,
    FINAL_OF_ATTR,
    NEIGHBOUR_ATTR,
)
from cnnsearch.api import run
from cnnsearch.search import score
from cnnsearch.spec import load_spec
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow

# A timeout far longer than two 1-epoch trials: the final training is capped at 10 x train.epochs,
# so what it plans does not depend on this machine's speed.
BUDGET = ["study.timeout=900", "study.final_share=0.5"]


def test_the_best_params_train_once_more_then_never_again(
    tiny_spec_file: SpecFile, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tiny_spec_file(n_trials=2, epochs=1)
    study = run(load_spec(path, BUDGET))
    explored, last = study.trials[:2], study.trials[-1]
    assert len(study.trials) == 3 and last.state == TrialState.COMPLETE
    best = max((t for t in explored if t.state == TrialState.COMPLETE), key=lambda t: score(t) or 0.0)
    assert last.user_attrs[FINAL_EPOCHS_ATTR] == 10 and last.user_attrs[FINAL_OF_ATTR] == best.number
    assert last.params == best.params
    assert last.user_attrs[EPOCHS_RUN_ATTR] >= 3  # more than train.epochs: early stopping's patience is 2
    assert f"final training: trial {best.number}'s params for 10 epochs" in capsys.readouterr().out
    # Resuming the finished study trains nothing more: one final training per study.
    study = run(load_spec(path, BUDGET))
    assert len(study.trials) == 3
    assert "final training" not in capsys.readouterr().out


PRIOR = (
    "\n[study.initial_params]\nblocks = 1\nfilters = 8\nbatch_norm = true\ndropout = 0.1\n"
    "dense_units = 0\nlearning_rate = 0.005\n"
)


def test_neighbours_left_queued_at_the_exploration_deadline_do_not_take_the_final_trainings_place(
    tiny_spec_file: SpecFile, workdir: Path
) -> None:
    """3 s of exploration cannot start 8 queued neighbours (the first trial alone takes longer).

    Optuna starts the oldest queued trial first: the neighbours left over end PRUNED, unstarted,
    and the final training queued after them still runs.
    """
    path = tiny_spec_file(n_trials=50, epochs=1, extra=PRIOR)
    budget = ["study.timeout=30", "study.final_share=0.9", "study.initial_neighbours=8"]
    study = run(load_spec(path, budget))
    final = [t for t in study.trials if FINAL_EPOCHS_ATTR in t.user_attrs]
    assert len(final) == 1 and final[0].state == TrialState.COMPLETE and final[0].user_attrs[EPOCHS_RUN_ATTR] >= 1
    unstarted = [t for t in study.trials if t.user_attrs.get(EPOCHS_RUN_ATTR) == 0]
    assert unstarted, "every neighbour started: the exploration deadline came too late to test this"
    for trial in unstarted:
        assert NEIGHBOUR_ATTR in trial.user_attrs and trial.state == TrialState.PRUNED
        assert trial.user_attrs[EXPLORATION_DEADLINE_ATTR] is True and trial.number < final[0].number
    assert final[0].number == len(study.trials) - 1
