"""Studies against the real Optuna journal storage, real Keras training and a real MLflow store."""

from __future__ import annotations

import dataclasses

import numpy as np
import optuna
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from cnnsearch import data
from cnnsearch._keys import PARENT_RUN_ATTR
from cnnsearch.api import run
from cnnsearch.errors import CnnsearchError
from cnnsearch.reporting import SearchTracking
from cnnsearch.search import Objective, open_study
from cnnsearch.spec import load_spec
from cnnsearch.tracking import default_tracking_uri
from tests.helpers import GOOD, SpecFile, on_the_example_hypermodel

pytestmark = pytest.mark.slow

HOPELESS = {**GOOD, "learning_rate": 1e-3 * 1e-3}  # learns nothing in a few epochs


def _runs(experiment: str) -> tuple[MlflowClient, list[Run]]:
    client = MlflowClient(default_tracking_uri())
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, experiment
    return client, client.search_runs([exp.experiment_id], max_results=1000)


def test_study_logs_parent_and_nested_runs_with_epoch_history(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file(
        n_trials=3,
        epochs=4,
        pruner="median",
        extra="",
    )
    overrides = ["study.startup_trials=1", "train.learning_rate={low=1e-6,high=1e-2,log=true}"]
    spec = load_spec(path, overrides)
    study = open_study(spec)
    study.enqueue_trial(GOOD)
    study.enqueue_trial(HOPELESS)
    study = run(path, overrides=overrides)

    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 3
    assert study.trials[1].state == TrialState.PRUNED  # far below trial 0 at epoch 1

    client, runs = _runs("tiny")
    parent_id = study.user_attrs[PARENT_RUN_ATTR]
    parents = [r for r in runs if r.info.run_id == parent_id]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 3
    assert {r.data.tags["cnnsearch.trial"] for r in children} == {"0", "1", "2"}
    artifacts = [a.path for a in client.list_artifacts(parent_id, "spec")]
    assert artifacts == ["spec/resolved.toml", "spec/tiny.toml"]
    for child in children:
        number = int(child.data.tags["cnnsearch.trial"])
        trial = study.trials[number]
        assert child.data.tags["cnnsearch.state"] == trial.state.name
        assert child.data.params["learning_rate"] == str(trial.params["learning_rate"])
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert len(history) == trial.user_attrs["epochs_run"] >= 1
        assert [m.step for m in history] == list(range(len(history)))
        assert len(client.get_metric_history(child.info.run_id, "loss")) == len(history)
    pruned = [c for c in children if c.data.tags["cnnsearch.state"] == "PRUNED"]
    assert pruned and pruned[0].data.tags["cnnsearch.pruned_epoch"] == "1"
    assert len(client.get_metric_history(parent_id, "best_value")) == 3


def test_resume_counts_the_whole_study(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file(n_trials=2, epochs=1)
    first = run(load_spec(path))
    assert len(first.trials) == 2
    second = run(load_spec(path, ["study.n_trials=3"]))
    assert len(second.trials) == 3  # one more, not three more
    assert len({tuple(sorted(t.params.items())) for t in second.trials}) == 3  # no replayed params
    _, runs = _runs("tiny")
    assert len(runs) == 4  # one parent + three trials


def test_nan_loss_fails_that_trial_alone(tiny_spec_file: SpecFile) -> None:
    """Real training on images holding NaN pixels: that trial fails, the next one completes.

    Batch norm is on: without it ReLU turns NaN activations into zeros and the loss stays finite.
    """
    spec = load_spec(tiny_spec_file(n_trials=2, epochs=2), ["model.batch_norm=true"])
    splits = data.load(spec.data, seed=0)
    poisoned = dataclasses.replace(
        splits, x_train=np.where(splits.x_train > 128, np.nan, splits.x_train.astype("float32"))
    )
    study = open_study(spec)
    tracker = SearchTracking(spec)
    parent = tracker.open_study_run(study, {})
    study.optimize(Objective(spec, poisoned, tracker, parent), n_trials=1, catch=(Exception,))
    study.optimize(Objective(spec, splits, tracker, parent), n_trials=1, catch=(Exception,))
    failed, good = study.trials
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"].startswith("loss became NaN at epoch 0")
    assert good.state == TrialState.COMPLETE
    client, runs = _runs("tiny")
    run_of = {r.data.tags.get("cnnsearch.trial"): r for r in runs}
    assert run_of["0"].info.status == "FAILED"
    assert run_of["0"].data.tags["cnnsearch.fail_reason"] == failed.user_attrs["fail_reason"]
    assert run_of["1"].info.status == "FINISHED"


def test_consecutive_failures_stop_the_study(tiny_spec_file: SpecFile) -> None:
    path = on_the_example_hypermodel(tiny_spec_file(n_trials=5, epochs=1))
    spec = load_spec(path, ["study.metric=val_auc", "study.max_consecutive_failures=2"])
    with pytest.raises(CnnsearchError, match="stopped after 2 failed trials in a row.*val_auc"):
        run(spec)
    study = open_study(spec)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]
    _, runs = _runs("tiny")
    assert all(r.info.status != "RUNNING" for r in runs)


def test_hyperband_reports_every_epoch_of_a_real_study(tiny_spec_file: SpecFile) -> None:
    """The shipped specs' pruner on real training. Every sampler and pruner name's Optuna class, and
    each sampler drawing the spec's space, are checked without training in tests/unit/search/test_study.py;
    the median pruner prunes for real in test_study_logs_parent_and_nested_runs_with_epoch_history."""
    study = run(load_spec(tiny_spec_file(n_trials=2, epochs=2, pruner="hyperband")))
    assert type(study.pruner) is optuna.pruners.HyperbandPruner
    assert len([t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]) == 2
    assert all(t.intermediate_values for t in study.trials)  # every epoch was reported
