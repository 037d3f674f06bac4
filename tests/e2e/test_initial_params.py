"""[study] initial_params: a known-good first trial, queued once, checked before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch._keys import INITIAL_ATTR
from cnnsearch.api import run
from cnnsearch.spec import load_spec

pytestmark = pytest.mark.slow

START = "\n[study.initial_params]\nlearning_rate = 0.005\nfilters = 16\nbatch_norm = true\n"


def test_first_trial_takes_initial_params_once(tiny_spec_file, workdir: Path) -> None:
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
