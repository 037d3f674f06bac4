"""[study] initial_params: a known-good first trial, queued once, checked before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch._keys import INITIAL_ATTR, NEIGHBOUR_ATTR
from cnnsearch.api import run
from cnnsearch.spec import load_spec
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow

START = "\n[study.initial_params]\nlearning_rate = 0.005\nfilters = 16\nbatch_norm = true\n"


def test_first_trial_takes_initial_params_once(tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=2, epochs=1, extra=START)
    spec = load_spec(path, [])
    assert spec.study.initial_params == {"learning_rate": 0.005, "filters": 16, "batch_norm": True}
    study = run(spec)
    first = study.trials[0]
    assert (
        first.params["learning_rate"] == 0.005 and first.params["filters"] == 16 and first.params["batch_norm"] is True
    )
    assert first.user_attrs[INITIAL_ATTR] is True
    # Resuming with a bigger budget does not queue it again.
    study = run(load_spec(path, ["study.n_trials=3"]))
    assert [t.user_attrs.get(INITIAL_ATTR, False) for t in study.trials] == [True, False, False]


def test_neighbours_run_after_the_initial_trial_each_one_change_away(tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=3, epochs=2, pruner="hyperband", extra=START)
    spec = load_spec(path, ["study.initial_neighbours=2", 'study.neighbour_params=["learning_rate", "filters"]'])
    study = run(spec)
    first, *rest = study.trials
    assert first.user_attrs[INITIAL_ATTR] is True
    for trial in rest:
        changed = {
            name for name in ("learning_rate", "filters", "batch_norm") if trial.params[name] != first.params[name]
        }
        assert len(changed) == 1 and trial.user_attrs[NEIGHBOUR_ATTR].split("=")[0] == changed.pop()
    # Planned start-up trials are not pruned: each trains its whole schedule.
    assert [(t.state.name, t.user_attrs["epochs_run"]) for t in study.trials] == [("COMPLETE", 2)] * 3
