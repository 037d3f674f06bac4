"""[performance] in a real study: the spec's settings reach training and are recorded in MLflow."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from cnnsearch.api import run
from cnnsearch.tracking import default_tracking_uri
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow


def test_a_study_trains_with_the_specs_settings_and_records_them(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file(n_trials=1, epochs=1)
    study = run(path, overrides=["performance.steps_per_execution=3", "performance.mixed_precision=false"])
    client = MlflowClient(default_tracking_uri())
    trial_run = client.get_run(study.trials[0].user_attrs["mlflow_run_id"])
    assert trial_run.data.params["performance.steps_per_execution"] == "3"
    assert trial_run.data.params["performance.mixed_precision"] == "False"
    assert study.trials[0].state.name == "COMPLETE"
