"""A tiny study logged to a real MLflow tracking server on loopback, read back over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from cnnsearch._keys import DIAGNOSIS_TAG, PARENT_RUN_ATTR
from cnnsearch.api import run
from cnnsearch.reporting._artifacts import CURVES_FILE, SUMMARY_FILE, TRIALS_CSV
from cnnsearch.search import open_study, score
from cnnsearch.spec import load_spec
from cnnsearch.training import LABELS
from tests.helpers import GOOD, SpecFile

pytestmark = pytest.mark.slow

HOPELESS = {**GOOD, "learning_rate": 1e-6}  # learns nothing: pruned at epoch 1 by the median pruner
SMALLER = {**GOOD, "filters": 8, "dropout": 0.1, "batch_norm": False}


@pytest.mark.fresh_store  # it checks what a first run creates, or that nothing is
def test_study_on_a_tracking_server(
    mlflow_server: str, tiny_spec_file: SpecFile, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tiny_spec_file(n_trials=3, epochs=3, pruner="median")
    shared = workdir / "shared"  # the study storage both working folders ("machines") reach
    overrides = [
        f"tracking.tracking_uri={mlflow_server}",
        "tracking.experiment=served",
        "study.startup_trials=2",  # the median pruner judges from the third trial on
        "train.learning_rate={low=1e-6,high=1e-2,log=true}",
        f"study.storage={shared / 'tiny.journal'}",
        "study.keep_top_k=1",  # of the two complete trials, one is kept: the other's artifacts are evicted
    ]
    shared.mkdir()
    spec = load_spec(path, overrides)
    study = open_study(spec)
    # Two complete trials, so every study plot can be drawn; the smaller one first, so that the
    # better one usually evicts it from the top-1 and its weight artifacts are deleted.
    for params in (SMALLER, GOOD, HOPELESS):
        study.enqueue_trial(params)
    study = run(path, overrides=overrides)
    assert not (workdir / "mlruns" / "mlflow.db").exists()  # everything went to the server

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("served")
    assert experiment is not None
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # proxied through the server
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parent_id = study.user_attrs[PARENT_RUN_ATTR]
    parent = client.get_run(parent_id)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]
    assert parent.info.status == "FINISHED" and parent.data.tags["cnnsearch.kind"] == "study"
    assert len(runs) == 4 and len(children) == len(study.trials) == 3

    # Parent: progress metrics per finished trial, study plots and the trials table.
    assert [m.step for m in client.get_metric_history(parent_id, "best_value")] == [0, 1, 2]
    assert client.get_metric_history(parent_id, "trials_complete")[-1].value >= 1
    plots = {a.path for a in client.list_artifacts(parent_id, "plots")}
    for name in ("optimization_history", "param_importances", "parallel_coordinate", "slice", "contour"):
        assert {f"plots/{name}.png", f"plots/{name}.html"} <= plots, name
    local = Path(client.download_artifacts(parent_id, TRIALS_CSV, str(workdir)))
    import pandas as pd

    table = pd.read_csv(local)
    assert list(table["number"]) == [0, 1, 2] and set(table["diagnosis"]) <= set(LABELS)
    assert parent.data.tags["cnnsearch.plots_skipped"] == "none"

    # Every trial: state and diagnosis tags, per-epoch histories, curves and model summary.
    for child in children:
        number = int(child.data.tags["cnnsearch.trial"])
        trial = study.trials[number]
        tags, run_id = child.data.tags, child.info.run_id
        assert tags["cnnsearch.state"] == trial.state.name
        assert tags[DIAGNOSIS_TAG] == trial.user_attrs["diagnosis"] in LABELS
        assert tags[f"{DIAGNOSIS_TAG}_reason"]
        for key in ("loss", "val_loss", "val_accuracy", "epoch_time_s", "images_per_s"):
            history = client.get_metric_history(run_id, key)
            assert [m.step for m in history] == list(range(trial.user_attrs["epochs_run"])), key
        assert client.get_metric_history(run_id, "param_count")[0].value == trial.user_attrs["param_count"]
        files = {a.path for a in client.list_artifacts(run_id)}
        assert {CURVES_FILE, SUMMARY_FILE} <= files
        summary = client.download_artifacts(run_id, SUMMARY_FILE, str(workdir / f"s{number}"))
        assert "Total params" in Path(summary).read_text()
        assert trial.duration is not None and 0 < trial.user_attrs["tracking_s"] < trial.duration.total_seconds()

    pruned = [c for c in children if c.data.tags["cnnsearch.state"] == "PRUNED"]
    assert len(pruned) == 1 and pruned[0].data.tags["cnnsearch.pruned_epoch"] == "1"
    assert client.get_metric_history(pruned[0].info.run_id, "pruned_epoch")[0].value == 1
    assert pruned[0].data.tags[DIAGNOSIS_TAG] == "underfitting"  # lr 1e-6: both curves stay near ln(10)

    # Kept weights: the top-1 trial's run holds them as artifacts; the other complete trial's were
    # deleted there when it fell out (or never logged, if it never entered the top-1).
    complete = sorted((t for t in study.trials if t.state.name == "COMPLETE"), key=lambda t: -(score(t) or 0.0))
    best, other = complete
    weights_of = {
        t.number: {a.path for a in client.list_artifacts(t.user_attrs["mlflow_run_id"], "weights")} for t in complete
    }
    assert weights_of[best.number] == {f"weights/trial-{best.number}.weights.h5"}
    assert weights_of[other.number] == set()
    assert not [t.user_attrs["shared_weights_kept"] for t in study.trials if "shared_weights_kept" in t.user_attrs]

    # A second working folder (another machine: no mlruns/weights/ of its own) exports the same model:
    # the weights come from the best trial's MLflow run, nothing is retrained, the test accuracy agrees.
    from cnnsearch.api import export_best

    here: list[str] = []
    first = export_best(path, workdir / "export-a", overrides=overrides, formats="keras", say=here.append)
    assert any("Weights: this folder's kept weights" in line for line in here), here
    elsewhere = workdir / "machine-b"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    there: list[str] = []
    second = export_best(path, elsewhere / "export-b", overrides=overrides, formats="keras", say=there.append)
    assert any(f"Fetched trial {best.number}'s kept weights from its MLflow run" in line for line in there), there
    assert any("Weights: fetched from the MLflow store" in line for line in there), there
    assert not any("Retraining" in line for line in there), there
    assert (elsewhere / "mlruns" / "weights" / "tiny" / f"trial-{best.number}.weights.h5").is_file()
    assert second.card["test"]["accuracy"] == first.card["test"]["accuracy"]
