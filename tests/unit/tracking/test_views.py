"""The saved MLflow view of a study's trials, in the format MLflow 3's UI reads (its "Views" menu)."""

from __future__ import annotations

import json

from cnnsearch.spec import load_spec
from cnnsearch.tracking._views import TRIALS_VIEW, experiment_url, trials_view_tag
from tests.helpers import SpecFile


def test_the_view_lists_trials_best_score_first_with_score_state_and_searched_params(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file())
    key, value = trials_view_tag(spec)
    assert key == f"mlflow.sharedViewState.{TRIALS_VIEW}"
    envelope = json.loads(value)
    assert envelope["name"] == "cnnsearch trials" and isinstance(envelope["createdAt"], int)
    state = json.loads(envelope["state"])  # the UI parses the state from a string inside the envelope
    assert state["searchFilter"] == "tags.`cnnsearch.kind` = 'trial'"
    assert state["orderByKey"] == "metrics.`score_val_accuracy`" and state["orderByAsc"] is False
    columns = state["selectedColumns"]
    assert columns[:3] == ["metrics.`score_val_accuracy`", "tags.`cnnsearch.state`", "tags.`cnnsearch.diagnosis`"]
    assert {"params.`blocks`", "params.`learning_rate`", "params.`dropout`"} <= set(columns)
    assert "params.`kernel_size`" not in columns  # a constant in the tiny spec: the same in every trial
    assert trials_view_tag(spec) == (key, value)  # written again, nothing changes


def test_a_minimized_metric_sorts_ascending(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(), ["study.metric=val_loss", "study.direction=minimize"])
    state = json.loads(json.loads(trials_view_tag(spec)[1])["state"])
    assert state["orderByKey"] == "metrics.`score_val_loss`" and state["orderByAsc"] is True


def test_a_multi_objective_study_shows_its_costs_beside_the_score(tiny_spec_file: SpecFile) -> None:
    objectives = (
        'study.objectives=[{metric="val_accuracy", direction="maximize"}, {metric="latency_ms", direction="minimize"}]'
    )
    spec = load_spec(tiny_spec_file(), [objectives, "study.max_params=5000"])
    columns = json.loads(json.loads(trials_view_tag(spec)[1])["state"])["selectedColumns"]
    assert columns[3:5] == ["metrics.`param_count`", "metrics.`latency_ms`"], columns


def test_the_url_opens_model_training_on_the_view() -> None:
    assert experiment_url("http://127.0.0.1:5000/", "3") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning&viewStateShareKey=cnnsearch-trials"
    )
