"""``study.final_share``: after exploring, the best params train once more for the time left."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from optuna.trial import TrialState

from cnnsearch._keys import (
    CLOCK_ATTR,
    EPOCHS_RUN_ATTR,
    EXPLORATION_DEADLINE_ATTR,
    FINAL_EPOCHS_ATTR,
    FINAL_OF_ATTR,
    NEIGHBOUR_ATTR,
    OWNER_ATTR,
)
from cnnsearch.api import run
from cnnsearch.reporting import best_record
from cnnsearch.search import budget_used, load_study, score
from cnnsearch.spec import load_spec
from tests.e2e.conftest import Cli
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow

# The final training runs until the study's deadline (its rate follows the clock), so a test lasts
# its timeout. 20 s with 0.9 to the final training: 2 s of exploring cannot run all 8 queued
# neighbours (a 1-epoch tiny trial takes 1 s on 2 quiet cores, 5 s loaded; the test needs one left
# unstarted), and the 18 s left buy the 1.5 epochs (plus 5 s of margin) a final training needs to be
# planned: 8 times over on a quiet machine, and still at 5 s a trial.
BUDGET = ["study.timeout=20", "study.final_share=0.9", "study.initial_neighbours=8"]
PRIOR = (
    "\n[study.initial_params]\nblocks = 1\nfilters = 8\nbatch_norm = true\ndropout = 0.1\n"
    "dense_units = 0\nlearning_rate = 0.005\n"
)


def test_the_best_params_train_once_more_until_the_deadline_after_the_neighbours_left_queued_then_never_again(
    tiny_spec_file: SpecFile, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exploring stops at its deadline; the best params then train once, until the study's deadline.

    Optuna starts the oldest queued trial first: the neighbours the exploration had no time for
    end PRUNED, unstarted, and the final training queued after them still runs.
    """
    path = tiny_spec_file(n_trials=50, epochs=1, extra=PRIOR)
    spec = load_spec(path, BUDGET)
    study = run(spec)
    last = study.trials[-1]
    assert last.state == TrialState.COMPLETE and FINAL_EPOCHS_ATTR in last.user_attrs
    assert [t for t in study.trials if FINAL_EPOCHS_ATTR in t.user_attrs] == [last]
    explored = [t for t in study.trials[:-1] if t.state == TrialState.COMPLETE]
    best = max(explored, key=lambda t: score(t) or 0.0)
    assert last.user_attrs[FINAL_OF_ATTR] == best.number and last.params == best.params
    assert last.user_attrs[FINAL_EPOCHS_ATTR] >= 3  # a ceiling: 100 x what the time left buys
    assert last.user_attrs[EPOCHS_RUN_ATTR] >= 3  # more than train.epochs: no early stop, no 10x cap
    unstarted = [t for t in study.trials if t.user_attrs.get(EPOCHS_RUN_ATTR) == 0]
    assert unstarted, "every neighbour started: the exploration deadline came too late to test this"
    for trial in unstarted:
        assert NEIGHBOUR_ATTR in trial.user_attrs and trial.state == TrialState.PRUNED
        assert trial.user_attrs[EXPLORATION_DEADLINE_ATTR] is True and trial.number < last.number
    out = capsys.readouterr().out
    assert f"final training: trial {best.number}'s params until the deadline" in out
    # The budget is spent (the final training stops within half an epoch of the deadline), and said.
    used = budget_used(study, spec)
    assert used is not None and used.share >= 0.8, used
    assert "time budget:" in out and "went to training" in out
    assert best_record(study, spec)["time_budget"]["share"] == round(used.share, 4)
    # Resuming the finished study trains nothing more: one final training per study.
    again = run(load_spec(path, [*BUDGET, f"study.n_trials={len(study.trials)}"]))
    assert len(again.trials) == len(study.trials)
    assert "final training" not in capsys.readouterr().out


def test_with_two_workers_one_final_training_runs_and_survives_the_death_of_its_worker(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path
) -> None:
    """Both workers stop exploring at the study's deadline; one runs the final training, the other stops
    (``study.final_others = "stop"``; the test below has the default, "seeds").

    Also the test of a worker SIGKILLed mid-trial: its trial is FAIL in Optuna and FAILED in MLflow with
    the reason, and the retry (same params) runs in the worker that replaces it.

    Its worker is SIGKILLed once the final training's MLflow run is open: the supervisor fails it, its retry
    (same params, same final marks) runs in the replacement worker, once, until the deadline.
    """
    from tests.e2e.test_workers import _check_one_run_per_trial, _wait_for

    path = tiny_spec_file(n_trials=50, epochs=1)
    # 16 s to explore, 24 s for the final training: on 2 cores two workers take 8 s to start (20 s
    # loaded) and a 1-epoch tiny trial 2 s (5 s loaded); the first trial to complete must leave the
    # 1.5 epochs (plus 5 s of margin) a final training needs, and the killed one's replacement is
    # started before the deadline (a retry that starts after it still trains one epoch).
    budget = ["study.timeout=40", "study.final_share=0.6", 'study.final_others="stop"']
    sets = [arg for item in budget for arg in ("--set", item)]
    proc = cli.popen("run", str(path), "--workers", "2", *sets, cwd=workdir)

    def running_final():
        try:
            study = load_study(load_spec(path))
        except Exception:  # noqa: BLE001 - the study may not exist yet
            return None
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        # Its MLflow run is open (so its params are all drawn): the worker is about to train.
        marks = (FINAL_EPOCHS_ATTR, OWNER_ATTR, "mlflow_run_id")
        return next((t for t in running if all(mark in t.user_attrs for mark in marks)), None)

    try:
        victim = _wait_for(running_final, 240, "the final training", proc)
        os.kill(victim.user_attrs[OWNER_ATTR]["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "died (signal 9)" in out

    spec = load_spec(path, budget)
    study = load_study(spec)
    finals = [t for t in study.trials if FINAL_EPOCHS_ATTR in t.user_attrs]
    assert [t.state for t in finals] == [TrialState.FAIL, TrialState.COMPLETE]  # the killed one, its retry
    killed, retry = finals
    assert killed.number == victim.number and "died during the trial" in killed.user_attrs["fail_reason"]
    assert retry.user_attrs["retried_from"] == killed.number and retry.params == killed.params
    assert retry.user_attrs[FINAL_OF_ATTR] == killed.user_attrs[FINAL_OF_ATTR]
    assert TrialState.RUNNING not in [t.state for t in study.trials]
    # Every worker stopped exploring at the exploration deadline: no exploring trial began after it,
    # except while no trial had completed (on a loaded machine a worker may start after the deadline:
    # the final training needs a winner, so it explores until there is one).
    clock = study.user_attrs[CLOCK_ATTR]
    assert spec.study.timeout is not None
    explore_until = clock + spec.study.timeout * (1 - spec.study.final_share)
    exploring = [t for t in study.trials if FINAL_EPOCHS_ATTR not in t.user_attrs]
    ends = [
        t.datetime_complete.timestamp() for t in exploring if t.state == TrialState.COMPLETE and t.datetime_complete
    ]
    first_winner = min(ends)
    starts = [t.datetime_start.timestamp() for t in exploring if t.datetime_start is not None]
    assert exploring and all(s < explore_until or s < first_winner for s in starts), (
        explore_until,
        first_winner,
        starts,
    )
    assert retry.datetime_start is not None and retry.datetime_start.timestamp() >= explore_until
    assert "time budget:" in out
    # The killed trial is FAILED in MLflow too, with the reason; its retry has a run of its own.
    runs = {int(r.data.tags["cnnsearch.trial"]): r for r in _check_one_run_per_trial(study)}
    assert runs[killed.number].info.status == "FAILED" and runs[retry.number].info.status == "FINISHED"
    assert "died during the trial" in runs[killed.number].data.tags["cnnsearch.fail_reason"]


def test_by_default_the_other_worker_trains_the_same_params_with_another_seed_and_both_ship(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path
) -> None:
    """``study.final_others = "seeds"``: the worker not running the final training trains its params with
    another seed until the deadline, and ``best --export`` ships the mean of the two."""
    import json

    from cnnsearch._keys import FINAL_SEED_OF_ATTR

    path = tiny_spec_file(n_trials=50, epochs=1)
    # As above: 18 s to explore, 27 s for the final phase. The second worker gets there at most one
    # tiny epoch (5 s loaded) after the first, and the 22 s left still buy the 2 epochs (plus 5 s of
    # margin) a training beside the final one needs.
    budget = ["study.timeout=45", "study.final_share=0.6"]  # study.final_others = "seeds": the default
    sets = [arg for item in budget for arg in ("--set", item)]
    done = cli("run", str(path), "--workers", "2", *sets, cwd=workdir, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr

    study = load_study(load_spec(path, budget))
    finals = [t for t in study.trials if FINAL_EPOCHS_ATTR in t.user_attrs]
    primary = [t for t in finals if FINAL_SEED_OF_ATTR not in t.user_attrs]
    beside = [t for t in finals if FINAL_SEED_OF_ATTR in t.user_attrs]
    assert [t.state for t in primary] == [TrialState.COMPLETE]  # still one final training per study
    assert [t.state for t in beside] == [TrialState.COMPLETE], [(t.number, t.state, t.user_attrs) for t in finals]
    assert beside[0].user_attrs[FINAL_SEED_OF_ATTR] == primary[0].number
    assert beside[0].params == primary[0].params
    assert beside[0].user_attrs[FINAL_OF_ATTR] == primary[0].user_attrs[FINAL_OF_ATTR]
    assert beside[0].user_attrs[EPOCHS_RUN_ATTR] >= 2 and primary[0].user_attrs[EPOCHS_RUN_ATTR] >= 2
    assert TrialState.RUNNING not in [t.state for t in study.trials]
    assert "time budget:" in done.stdout

    export = cli("best", str(path), *sets, "--export", "--formats", "keras", cwd=workdir)
    assert export.returncode == 0, export.stdout + export.stderr
    assert "are the final training and the same params with other seeds" in export.stdout, export.stdout
    card = json.loads(next((workdir / "exports").glob("*/model_card.json")).read_text())
    assert card["shipped"]["rule"] == "ensemble"
    assert sorted(m["trial"] for m in card["shipped"]["members"]) == sorted([primary[0].number, beside[0].number])
