"""`cnnsearch trials` as text: one line per trial at any width, no trailing spaces, on real in-memory studies."""

from __future__ import annotations

import datetime as dt
import io

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from rich.console import Console

from cnnsearch._keys import DIAGNOSIS_ATTR, EPOCHS_RUN_ATTR, PRUNED_EPOCH_ATTR, REASON_ATTR, RUN_ID_ATTR
from cnnsearch.reporting import trials_frame, trials_table
from cnnsearch.spec import validate_spec

START = dt.datetime(2026, 1, 1, 12, 0, 0)
DISTRIBUTIONS = {
    "blocks": IntDistribution(1, 4),
    "filters": CategoricalDistribution([16, 32, 64]),
    "batch_norm": CategoricalDistribution([True, False]),
    "dropout": FloatDistribution(0.0, 0.5),
    "dense_units": CategoricalDistribution([0, 64, 128, 256]),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "optimizer": CategoricalDistribution(["adam", "sgd", "adamw"]),
    "batch_size": CategoricalDistribution([32, 64, 128]),
}
REASON = "loss became NaN at epoch 0 (learning rate too high?)"


def _frame(n: int = 12) -> pd.DataFrame:
    """``n`` trials of the digits demo's space: complete, pruned at epoch 1 and failed in turn."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="view", direction="maximize")
    for i in range(n):
        state = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)[i % 3]
        attrs = {RUN_ID_ATTR: f"{i:02d}" * 16, EPOCHS_RUN_ATTR: 20 - i, DIAGNOSIS_ATTR: "underfitting"}
        if state == TrialState.PRUNED:
            attrs[PRUNED_EPOCH_ATTR] = 1
        if state == TrialState.FAIL:
            attrs = {RUN_ID_ATTR: f"{i:02d}" * 16, REASON_ATTR: REASON}
        params = {
            "blocks": 1 + i % 4, "filters": 64, "batch_norm": i % 2 == 0, "dropout": 0.123456 * (i % 4),
            "dense_units": 256, "learning_rate": 0.00123456 * (i + 1), "optimizer": "adamw", "batch_size": 128,
        }  # fmt: skip
        trial = create_trial(
            state=state,
            value=0.9 + i / 1000 if state == TrialState.COMPLETE else None,
            params=params,
            distributions=DISTRIBUTIONS,
            user_attrs=attrs,
        )
        trial.datetime_start = START
        trial.datetime_complete = START + dt.timedelta(seconds=12.345 * (i + 1))
        study.add_trial(trial)
    spec = validate_spec({"study": {"name": "view"}, "data": {"dataset": "digits"}})
    return trials_frame(study, spec)


def _print(width: int, wide: bool = False, n: int = 12) -> list[str]:
    """What ``cnnsearch trials`` prints in a terminal ``width`` columns wide (as the CLI prints it)."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    for line in trials_table(_frame(n), "Trials of 'view'", width=width, wide=wide):
        console.print(line, soft_wrap=True)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_one_line_per_trial_that_fits_the_width_with_no_trailing_spaces(width: int) -> None:
    lines = _print(width)
    assert lines[0] == "Trials of 'view'"
    header, rows = lines[1].split(), lines[2:14]
    assert header[:4] == ["trial", "state", "value", "secs"]
    assert [row.split()[0] for row in rows] == [str(i) for i in range(12)]  # one line per trial, in order
    assert [row.split()[1] for row in rows[:3]] == ["COMPLETE", "PRUNED", "FAIL"]
    assert all(len(line) <= width for line in lines), [len(line) for line in lines]
    assert all(line == line.rstrip() for line in lines)
    assert len(lines) <= 16  # title, header, 12 trials and at most two footer lines: a 24-row terminal holds it


def test_80_columns_keep_the_params_that_fit_under_short_names_and_say_what_is_left_out() -> None:
    lines = _print(80)
    assert lines[1].split()[4:] == ["ep", "blocks", "filters", "bn", "dropout", "lr"]  # params that vary go first
    assert lines[2].split() == ["0", "COMPLETE", "0.9", "12.35", "20", "1", "64", "True", "0", "0.001235"]
    assert lines[-2:] == [
        "params: bn=batch_norm  lr=learning_rate",
        "not shown (--wide): diagnosis, run, dense_units, optimizer, batch_size, note",
    ]


def test_120_columns_add_the_diagnosis_and_a_cut_note() -> None:
    lines = _print(120)
    assert "diag" in lines[1].split() and "underfit" in lines[2]
    assert lines[3].endswith("pruned at epoc…") and lines[4].endswith("loss became Na…")
    assert lines[-1] == "not shown (--wide): run"


def test_200_columns_show_every_column_under_its_full_name() -> None:
    lines = _print(200)
    assert lines[1].split() == [
        "trial", "state", "value", "secs", "epochs", "diagnosis", "run", "blocks", "filters", "batch_norm",
        "dropout", "dense_units", "learning_rate", "optimizer", "batch_size", "note",
    ]  # fmt: skip
    assert "02020202" in lines[4] and "0202020202" not in lines[4]  # the run id, cut to 8 characters
    assert "underfitting" in lines[2] and lines[3].endswith("pruned at epoch 1")
    assert lines[4].endswith("loss became NaN at epoch 0 (learning rate too h…")  # the note takes the rest
    assert len(lines) == 14  # nothing left out: no footer


def test_wide_shows_every_column_whatever_the_width() -> None:
    wide = _print(80, wide=True)
    assert [line.split()[:5] for line in wide[1:]] == [line.split()[:5] for line in _print(200)[1:]]
    assert wide[4].endswith(REASON) and len(wide[4]) > 200  # nothing cut
    assert all(line == line.rstrip() for line in wide)


def test_no_trials() -> None:
    assert _print(80, n=0) == ["Trials of 'view'", "no trials to show"]


def test_a_trial_with_no_mlflow_run_yet() -> None:
    """A WAITING trial (the retry of a dead worker's trial) has no run, no value, no duration."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="view")
    study.enqueue_trial({"lr": 0.01})
    spec = validate_spec({"study": {"name": "view"}, "data": {"dataset": "digits"}})
    lines = [line.plain for line in trials_table(trials_frame(study, spec), "Trials", width=80)]
    assert lines == ["Trials", "trial  state    value  secs", "    0  WAITING"]


def test_names_that_would_share_a_short_name_keep_their_full_names() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [{"number": 0, "state": "COMPLETE", "value": 0.5, "duration_s": 1.0, "params.batch_size": 64,
          "params.block_size": 2, "params.learning_rate": 0.001, "params.translation": 0.1234, "params.note_x": 1}]
    )  # fmt: skip
    lines = [line.plain for line in trials_table(frame, "Trials", width=80)]
    assert lines[1].split() == ["trial", "state", "value", "secs", "batch_size", "block_size", "lr", "transl", "nx"]
    assert lines[-1] == "params: lr=learning_rate  transl=translation  nx=note_x"
