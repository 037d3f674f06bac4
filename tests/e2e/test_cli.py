"""End to end through the installed console script, as a user types it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from cnnsearch.search import load_study, trial_counts
from cnnsearch.spec import load_spec
from cnnsearch.tracking import default_tracking_uri
from tests.e2e.conftest import Cli
from tests.helpers import SpecFile, run_in, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.fresh_store  # it checks what a first run creates, or that nothing is
def test_run_prints_progress_and_best_table(cli: Cli, tiny_spec_file: SpecFile, workdir: Path) -> None:
    path = tiny_spec_file(n_trials=2, epochs=2)
    result = cli("run", str(path), cwd=workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "trial   0" in out and "trial   1" in out
    assert "Best trials of 'tiny'" in out
    assert "mlflow ui --backend-store-uri sqlite:///" in out
    assert "cudart" not in result.stderr and "absl" not in result.stderr  # TensorFlow noise hidden
    assert (workdir / "mlruns" / "mlflow.db").is_file()
    assert (workdir / "mlruns" / "studies" / "tiny.journal").is_file()


@pytest.mark.fresh_store  # it checks what a first run creates, or that nothing is
def test_bad_spec_stops_before_training(cli: Cli, workdir: Path) -> None:
    path = workdir / "bad.toml"
    path.write_text('[data]\ndataset = "digits"\n[train]\nepochs = 0\n')
    result = cli("run", str(path), cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {path}: train.epochs: input should be greater than 0, got 0"]
    assert not (workdir / "mlruns").exists()


def test_ctrl_c_then_rerun_finishes_at_n_trials(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tiny_spec_file(n_trials=3, epochs=3)
    proc = cli.popen("run", str(path), cwd=workdir, sigint=True)

    def second_trial_training() -> FrozenTrial | None:
        """Trial 1 (trial 0 is done) after its first epoch: Ctrl-C lands inside its training."""
        try:
            trials = load_study(load_spec(path)).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except Exception:  # noqa: BLE001 - the study may not exist yet
            return None
        return next((t for t in trials if t.number >= 1 and t.intermediate_values), None)

    wait_until(second_trial_training, "trial 1 to finish an epoch", timeout=300, proc=proc)
    proc.send_signal(signal.SIGINT)  # once: it is acted on at the next batch or between trials
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "run the same command again to resume" in err

    spec = load_spec(path)
    done_before = trial_counts(load_study(spec)).finished
    assert 1 <= done_before < 3

    from cnnsearch.api import run

    run(path)  # the rerun, through the API the CLI calls, in this process (the Ctrl-C was the CLI's)
    assert f"Resuming study 'tiny': {done_before} of 3 trials done." in capsys.readouterr().out
    study = load_study(spec)
    assert trial_counts(study).finished == 3

    client = MlflowClient(default_tracking_uri())
    experiment = client.get_experiment_by_name("tiny")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    statuses = sorted(r.info.status for r in runs)
    assert "RUNNING" not in statuses
    trial_runs = [r for r in runs if r.data.tags.get("cnnsearch.kind") == "trial"]
    assert len(trial_runs) == len(study.trials)  # one run per trial, none duplicated or lost
    killed = [r for r in trial_runs if r.info.status == "KILLED"]
    # The trial running at Ctrl-C (if it was inside one) is FAIL in Optuna and KILLED in MLflow.
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(killed) == len(failed) <= 1
    assert all(t.user_attrs.get("fail_reason") == "interrupted (Ctrl-C)" for t in failed), failed


def test_trials_and_best_read_the_study_back(cli: Cli, tiny_spec_file: SpecFile, workdir: Path) -> None:
    import io
    import json

    import pandas as pd

    path = tiny_spec_file(n_trials=3, epochs=1)
    run_in(workdir, path)  # the subject is `trials` and `best`: the search runs in this process

    result = cli("trials", str(path), "--format", "csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    study = load_study(load_spec(path))
    assert len(frame) == len(study.trials) == 3
    assert list(frame["number"]) == [0, 1, 2]
    assert set(frame["state"]) <= {"COMPLETE", "PRUNED"}
    assert frame["mlflow_run_id"].str.len().eq(32).all()
    assert "params.learning_rate" in frame.columns

    top = json.loads(cli("trials", str(path), "--format", "json", "--sort", "value", "--top", "1", cwd=workdir).stdout)
    best = json.loads(cli("best", str(path), "--format", "json", cwd=workdir).stdout)
    assert best["number"] == top[0]["number"] == study.best_trial.number
    assert best["value"] == study.best_value
    assert best["params"] == study.best_trial.params
    assert "Trials of 'tiny'" in cli("trials", str(path), cwd=workdir).stdout

    bad = cli("trials", str(path), "--state", "DONE", cwd=workdir)
    assert bad.returncode == 1 and bad.stderr.startswith("error: --state: expected one of")


def test_best_before_any_run_is_a_clear_error(cli: Cli, tiny_spec_file: SpecFile, workdir: Path) -> None:
    result = cli("best", str(tiny_spec_file()), cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no study named 'tiny' yet: run `cnnsearch run` on this spec first"


@pytest.mark.fresh_store  # it checks what a first run creates, or that nothing is
def test_ui_waits_for_the_server_then_prints_the_experiments_page(
    cli: Cli, port: int, tiny_spec_file: SpecFile, workdir: Path, _migrated_mlflow_db: Path
) -> None:
    """The real `mlflow ui` on a store holding the study's experiment (made without training): the
    URL is printed once the server answers, it is the experiment's page, and SIGTERM stops it all."""
    import json
    import select
    import shutil
    import urllib.request

    path = tiny_spec_file()
    missing = cli("ui", str(path), cwd=workdir)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no MLflow store at ")
    (workdir / "mlruns").mkdir()
    shutil.copyfile(_migrated_mlflow_db, workdir / "mlruns" / "mlflow.db")
    experiment_id = MlflowClient(default_tracking_uri()).create_experiment("tiny")

    log = (workdir / "ui.err").open("w")
    proc = cli.popen(
        "ui", str(path), "--port", str(port), cwd=workdir, stderr=log, start_new_session=True
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        deadline, line = time.monotonic() + 120, ""
        while not line and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 1)[0]:
                line = proc.stdout.readline()
        assert line, (workdir / "ui.err").read_text()
        url = (
            f"http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs"
            "?workflowType=machine_learning&viewStateShareKey=cnnsearch-trials"
        )
        assert line == f"MLflow UI: {url}  (experiment 'tiny'; Ctrl-C stops it)\n"
        assert (workdir / "ui.err").read_text().startswith(f"Starting the MLflow UI on http://127.0.0.1:{port} (")
        with urllib.request.urlopen(url, timeout=10) as response:  # answers at once: no retry needed
            assert response.status == 200 and "<title>MLflow</title>" in response.read().decode()
        api = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/get?experiment_id={experiment_id}"
        with urllib.request.urlopen(api, timeout=10) as response:
            assert json.load(response)["experiment"]["name"] == "tiny"

        proc.send_signal(signal.SIGTERM)  # to the CLI alone: it stops the server and its worker
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)  # anything left in the CLI's process group?
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the MLflow UI's processes outlived `cnnsearch ui`")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
