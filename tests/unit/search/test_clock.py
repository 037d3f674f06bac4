"""The study's clock: every process and machine reads one start time; a run after it ran out starts anew."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from cnnsearch._keys import CLOCK_ATTR
from cnnsearch.search import _clock as clock
from cnnsearch.spec import Spec, load_spec
from tests.helpers import tiny_spec


def _spec(tmp_path: Path, *overrides: str) -> Spec:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec(n_trials=5, epochs=1))
    return load_spec(path, list(overrides))


def test_a_late_process_joins_the_running_clock_and_a_later_run_starts_a_new_one(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "study.timeout=600")
    study = optuna.create_study()
    assert clock.start_or_join(study, spec, now=1000.0) == 1000.0
    assert study.user_attrs[CLOCK_ATTR] == 1000.0
    assert clock.start_or_join(study, spec, now=1500.0) == 1000.0  # a second machine, 500 s late
    assert clock.start_or_join(study, spec, now=1600.0) == 1600.0  # the budget ran out: resumed anew
    assert study.user_attrs[CLOCK_ATTR] == 1600.0
    no_timeout = _spec(tmp_path)
    assert clock.start_or_join(study, no_timeout, now=1700.0) == 1700.0


def test_the_budget_used_runs_from_the_clock_to_the_last_trial_end(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "study.timeout=240")
    study = optuna.create_study(direction="maximize")
    start = dt.datetime(2026, 12, 7, 5, 0, 0)
    for value, begin, end in ((0.5, -50, -40), (0.8, 5, 100), (0.9, 100, 228)):  # the first: an older clock
        trial = create_trial(
            value=value, params={"x": value}, distributions={"x": FloatDistribution(0, 1)}, user_attrs={}
        )
        trial.datetime_start = start + dt.timedelta(seconds=begin)
        trial.datetime_complete = start + dt.timedelta(seconds=end)
        study.add_trial(trial)
    study.set_user_attr(CLOCK_ATTR, start.timestamp())
    used = clock.budget_used(study, spec)
    assert used is not None and used.used_s == 228.0 and used.timeout_s == 240.0
    assert round(used.share, 2) == 0.95
    assert used.line() == "time budget: 228 s of 240 s went to training (95%)"
    assert clock.budget_used(study, _spec(tmp_path)) is None  # no timeout, no budget
