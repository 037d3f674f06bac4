"""Several worker processes on one study: exact trial counts, crashes, Ctrl-C, recycling, failures.

Real worker processes (``cnnsearch run --workers N``), the real journal storage and
MLflow store, and real signals.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from cnnsearch.search import _heartbeat as heartbeat
from cnnsearch.search import load_study
from cnnsearch.spec import load_spec
from cnnsearch.tracking import default_tracking_uri
from tests.e2e.conftest import Cli
from tests.helpers import SpecFile, on_the_example_hypermodel, run_in

T = TypeVar("T")
pytestmark = pytest.mark.slow


def _runs(experiment: str = "tiny") -> list:
    client = MlflowClient(default_tracking_uri())
    found = client.get_experiment_by_name(experiment)
    assert found is not None, experiment
    return client.search_runs([found.experiment_id], max_results=1000)


def _check_one_run_per_trial(study: optuna.Study) -> list:
    """Every trial has exactly one MLflow run, none left RUNNING; one parent run."""
    runs = _runs()
    assert [r.info.status for r in runs if r.info.status == "RUNNING"] == []
    parents = [r for r in runs if r.data.tags.get("cnnsearch.kind") == "study"]
    trial_runs = [r for r in runs if r.data.tags.get("cnnsearch.kind") == "trial"]
    assert len(parents) == 1
    numbers = sorted(int(r.data.tags["cnnsearch.trial"]) for r in trial_runs)
    assert numbers == [t.number for t in study.trials]  # one run per trial, none duplicated or lost
    assert {r.data.tags["mlflow.parentRunId"] for r in trial_runs} == {parents[0].info.run_id}
    by_number = {int(r.data.tags["cnnsearch.trial"]): r for r in trial_runs}
    for trial in study.trials:
        assert (
            trial.user_attrs.get("mlflow_run_id", by_number[trial.number].info.run_id)
            == by_number[trial.number].info.run_id
        )
    return trial_runs


def test_three_workers_on_the_local_store_finish_exactly_n_trials_and_are_recycled(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path
) -> None:
    """Three processes writing one journal and one SQLite MLflow store, each replaced after its trial:
    no "database is locked", exactly n_trials, one MLflow run per trial."""
    path = tiny_spec_file(n_trials=4, epochs=1, extra="")
    result = cli("run", str(path), "--workers", "3", "--set", "study.trials_per_worker=1", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 worker processes" in result.stdout
    for number in range(4):
        assert f"trial {number:>3}  COMPLETE" in result.stdout
    logs = sorted((workdir / "mlruns" / "logs" / "tiny").glob("worker-*.log"))
    assert [p.name for p in logs] == ["worker-0.log", "worker-1.log", "worker-2.log"]
    assert "database is locked" not in result.stdout + result.stderr + "".join(p.read_text() for p in logs)

    study = load_study(load_spec(path))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4  # exactly n_trials, no overshoot
    assert len(_check_one_run_per_trial(study)) == 4
    per_process = Counter(t.user_attrs[heartbeat.OWNER_ATTR]["pid"] for t in study.trials)
    assert len(per_process) == 4 and max(per_process.values()) == 1  # each process recycled after its trial
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4  # workers sample apart
    # The supervisor keeps the parent run's study plots and trials table, as a single process does.
    client = MlflowClient(default_tracking_uri(workdir / "mlruns"))
    parent = study.user_attrs["mlflow_parent_run_id"]
    uploaded = {a.path for a in client.list_artifacts(parent)}
    assert "trials.csv" in uploaded, uploaded


def _wait_for(predicate: Callable[[], T | None], timeout: float, what: str, proc: subprocess.Popen | None = None) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"supervisor exited ({proc.returncode}) while waiting for {what}: {proc.communicate()}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _running_mid_epoch(path: Path) -> FrozenTrial | None:
    """A RUNNING trial that reported at least one epoch (so it is inside training)."""
    try:
        study = load_study(load_spec(path))
    except Exception:  # noqa: BLE001 - the study may not exist yet
        return None
    for trial in study.get_trials(states=(TrialState.RUNNING,)):
        if trial.intermediate_values and heartbeat.OWNER_ATTR in trial.user_attrs:
            return trial
    return None


def test_ctrl_c_stops_every_worker_then_rerun_completes(cli: Cli, tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=3, epochs=4)
    proc = cli.popen("run", str(path), "--workers", "2", cwd=workdir, sigint=True)
    try:
        _wait_for(lambda: _running_mid_epoch(path), 240, "a trial in training", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "run the same command again to resume" in err

    study = load_study(load_spec(path))
    states = [t.state for t in study.trials]
    assert TrialState.RUNNING not in states
    interrupted = [t for t in study.trials if t.state == TrialState.FAIL]
    assert interrupted and all(t.user_attrs["fail_reason"] == "interrupted (Ctrl-C)" for t in interrupted)
    runs = {int(r.data.tags["cnnsearch.trial"]): r for r in _check_one_run_per_trial(study)}
    assert {runs[t.number].info.status for t in interrupted} == {"KILLED"}
    assert [r.info.status for r in _runs() if r.data.tags.get("cnnsearch.kind") == "study"] == ["KILLED"]

    run_in(workdir, path)  # the rerun resumes as any run does (the same session code): in this process
    study = load_study(load_spec(path))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 3
    assert TrialState.RUNNING not in states
    _check_one_run_per_trial(study)


def test_consecutive_failures_stop_all_workers(cli: Cli, tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = on_the_example_hypermodel(tiny_spec_file(n_trials=8, epochs=1))
    result = cli(
        "run", str(path), "--workers", "2", "--set", "study.metric=val_auc", "--set", "study.max_consecutive_failures=2",
        cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: stopped after 2 failed trials in a row" in result.stderr and "val_auc" in result.stderr
    study = load_study(load_spec(path))
    assert 2 <= len(study.trials) <= 3  # the two that tripped it, plus one already running at most
    assert {t.state for t in study.trials} == {TrialState.FAIL}
    _check_one_run_per_trial(study)


def test_rerun_after_a_crash_fails_and_retries_the_abandoned_trial(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path
) -> None:
    """`cnnsearch run` (no workers) killed by SIGKILL mid-trial; running it again cleans up and finishes."""
    path = tiny_spec_file(n_trials=3, epochs=4)
    proc = cli.popen("run", str(path), cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        victim = _wait_for(lambda: _running_mid_epoch(path), 240, "a trial in training", proc)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert load_study(load_spec(path)).trials[victim.number].state == TrialState.RUNNING  # what a crash leaves

    run_in(workdir, path)  # the run that cleans up: in this process (the crashed one's pid is gone)
    study = load_study(load_spec(path))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 3 and TrialState.RUNNING not in states
    assert study.trials[victim.number].state == TrialState.FAIL
    assert "died during the trial" in study.trials[victim.number].user_attrs["fail_reason"]
    assert [t.user_attrs.get("retried_from") for t in study.trials].count(victim.number) == 1
    runs = {int(r.data.tags["cnnsearch.trial"]): r for r in _check_one_run_per_trial(study)}
    assert runs[victim.number].info.status == "FAILED"
