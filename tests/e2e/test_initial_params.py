"""[study] initial_params: a known-good first trial, queued once, checked before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.errors import SpecError
from cnnsearch.spec import load_spec
from cnnsearch.study import INITIAL_ATTR, run

START = '\n[study.initial_params]\nlearning_rate = 0.005\nfilters = 16\nbatch_norm = true\n'


def test_first_trial_takes_initial_params_once(tiny_spec_file, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=2, epochs=1, extra=START)
    spec = load_spec(path, [])
    assert spec.study.initial_params == {"learning_rate": 0.005, "filters": 16, "batch_norm": True}
    study = run(spec)
    first = study.trials[0]
    assert first.params["learning_rate"] == 0.005 and first.params["filters"] == 16 and first.params["batch_norm"] is True
    assert first.user_attrs[INITIAL_ATTR] is True
    # Resuming with a bigger budget does not queue it again.
    study = run(load_spec(path, ["study.n_trials=3"]))
    assert [t.user_attrs.get(INITIAL_ATTR, False) for t in study.trials] == [True, False, False]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{learning_rate = 0.5}", "study.initial_params.learning_rate: 0.5 is outside [0.001, 0.01]"),
        ("{filters = 32}", "study.initial_params.filters: 32 is not among the choices [8, 16]"),
        ("{kernel_size = 3}", "study.initial_params.kernel_size: not a searched param"),
    ],
)
def test_bad_initial_params_stop_before_training(tiny_spec_file, value: str, message: str) -> None:
    path = tiny_spec_file()
    with pytest.raises(SpecError) as error:
        load_spec(path, [f"study.initial_params={value}"])
    assert message in str(error.value) and "\n" not in str(error.value)
