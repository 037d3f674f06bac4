"""Two processes share one study through a real PostgreSQL and a real MLflow tracking server.

This is the several-machines set-up of the README on one machine: each process is
a plain ``cnnsearch run`` on the same spec, storage and tracking server. `.ci/run`
starts PostgreSQL on loopback (`.ci/postgres start`) and sets the URL.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from cnnsearch.search import _heartbeat as heartbeat
from tests.e2e.conftest import Cli
from tests.helpers import SpecFile

URL = os.environ.get("CNNSEARCH_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not URL,
        reason='CNNSEARCH_TEST_POSTGRES_URL is not set: `eval "$(.ci/postgres start)"` starts a server and sets it',
    ),
]


def test_two_processes_share_a_study_through_postgres(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path, mlflow_server: str
) -> None:
    name = f"pg-{uuid.uuid4().hex[:10]}"  # a fresh study in a database that outlives the test
    path = tiny_spec_file(n_trials=4, epochs=1)
    overrides = [
        f"study.name={name}",
        f"study.storage={URL}",
        f"tracking.tracking_uri={mlflow_server}",
        f"tracking.experiment={name}",
    ]
    args = [arg for item in overrides for arg in ("--set", item)]
    # Two "machines" starting together: they race for the MLflow parent run and the last trials.
    procs = [cli.popen("run", str(path), *args, cwd=workdir) for _ in range(2)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err

    assert URL is not None
    study = optuna.load_study(study_name=name, storage=URL)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4  # exactly n_trials, none RUNNING
    assert {t.user_attrs[heartbeat.OWNER_ATTR]["pid"] for t in study.trials} == {p.pid for p in procs}

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("cnnsearch.kind") == "study"]
    trial_runs = [r for r in runs if r.data.tags.get("cnnsearch.kind") == "trial"]
    assert len(parents) == 1  # one parent run although both processes started at once
    assert sorted(int(r.data.tags["cnnsearch.trial"]) for r in trial_runs) == list(range(4))
    assert {r.data.tags["mlflow.parentRunId"] for r in trial_runs} == {parents[0].info.run_id}
    assert {r.info.status for r in runs} == {"FINISHED"}
