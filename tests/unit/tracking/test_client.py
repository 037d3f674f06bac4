"""What the MLflow UI shows of a search at first sight: real runs in a local MLflow store, read back
with ``MlflowClient``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import SpecFile

if TYPE_CHECKING:
    import optuna

    from cnnsearch.spec import Spec
    from cnnsearch.tracking import Tracker

    #: A tiny spec, its study, its tracker and the study's parent run.
    Tracked = tuple[Spec, optuna.Study, Tracker, str]


@pytest.fixture
def tracked(mlflow_store: Path, tiny_spec_file: SpecFile) -> Tracked:
    """A tiny spec's study, its tracker and parent run."""
    from cnnsearch.search import open_study
    from cnnsearch.spec import load_spec
    from cnnsearch.tracking import Tracker

    spec = load_spec(tiny_spec_file())
    study = open_study(spec)
    tracker = Tracker(spec)
    parent = tracker.open_study_run(study, {"resolved.toml": "[study]\n"})
    return spec, study, tracker, parent


def test_the_experiment_is_a_model_training_one(tracked: Tracked) -> None:
    """Without the kind, MLflow 3 opens the experiment on an empty GenAI overview."""
    _, _, tracker, _ = tracked
    experiment = MlflowClient(tracker.uri).get_experiment(tracker.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_an_experiment_made_before_gets_the_kind(mlflow_store: Path, tiny_spec_file: SpecFile) -> None:
    from cnnsearch.spec import load_spec
    from cnnsearch.tracking import Tracker, default_tracking_uri

    client = MlflowClient(default_tracking_uri())
    old = client.create_experiment("tiny")  # as an older cnnsearch left it: no kind
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags
    assert Tracker(load_spec(tiny_spec_file())).experiment_id == old
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_trial_runs_show_their_score_and_outcome(tracked: Tracked) -> None:
    """The score the search used is ``score_<metric>``; pruned and failed runs say so in their name."""
    _, _, tracker, parent = tracked
    runs = {}
    for number, state, value in [(0, "COMPLETE", 0.9954), (1, "PRUNED", 0.5), (2, "FAIL", None), (3, "KILLED", None)]:
        run_id = tracker.start_trial(parent, number, {"blocks": 2})
        tracker.epoch_logger(run_id)(0, {"val_accuracy": 0.9861})
        tracker.end_trial(run_id, state, value)
        runs[state] = MlflowClient(tracker.uri).get_run(run_id)

    complete = runs["COMPLETE"]
    assert complete.data.metrics["score_val_accuracy"] == pytest.approx(0.9954)
    assert complete.data.metrics["val_accuracy"] == pytest.approx(0.9861)  # the curve is kept as it was
    assert "best_val_accuracy" not in complete.data.metrics
    assert {state: run.info.run_name for state, run in runs.items()} == {
        "COMPLETE": "trial-0 (complete)",
        "PRUNED": "trial-1 (pruned)",
        "FAIL": "trial-2 (failed)",
        "KILLED": "trial-3 (killed)",
    }
    assert {state: run.info.status for state, run in runs.items()} == {
        "COMPLETE": "FINISHED",
        "PRUNED": "FINISHED",
        "FAIL": "FAILED",
        "KILLED": "KILLED",
    }
    assert runs["PRUNED"].data.tags["cnnsearch.state"] == "PRUNED"
    assert "score_val_accuracy" not in runs["FAIL"].data.metrics


def test_a_run_closed_by_another_tracker_is_named_from_its_trial_tag(tracked: Tracked) -> None:
    """After a crash another process closes the run: it still gets ``trial-N (outcome)``."""
    from cnnsearch.tracking import Tracker

    spec, _, tracker, parent = tracked
    run_id = tracker.start_trial(parent, 5, {})
    Tracker(spec).end_trial(run_id, "KILLED")
    assert MlflowClient(tracker.uri).get_run(run_id).info.run_name == "trial-5 (killed)"


def test_per_class_figures_are_one_table_artifact(tracked: Tracked, tmp_path: Path) -> None:
    _, _, tracker, parent = tracked
    run_id = tracker.start_trial(parent, 0, {})
    table: dict[str, list[Any]] = {"class": ["0", "1"], "recall": [1.0, 0.5], "f1": [0.8, 0.6], "support": [3, 4]}
    tracker.log_class_table(run_id, table)
    tracker.end_trial(run_id, "COMPLETE", 0.9)

    client = MlflowClient(tracker.uri)
    assert [a.path for a in client.list_artifacts(run_id)] == ["val_per_class.json"]
    logged = json.loads(Path(client.download_artifacts(run_id, "val_per_class.json", str(tmp_path))).read_text())
    assert logged["columns"] == ["class", "recall", "f1", "support"]
    assert logged["data"] == [["0", 1.0, 0.8, 3], ["1", 0.5, 0.6, 4]]
    assert not [key for key in client.get_run(run_id).data.metrics if key.startswith(("val_recall", "val_f1"))]


def test_the_study_run_describes_the_study(tracked: Tracked) -> None:
    """The parent run's description says what the study is and where its report is; the study keeps
    a short reference to its spec, not the spec itself."""
    _, study, tracker, parent = tracked
    note = MlflowClient(tracker.uri).get_run(parent).data.tags["mlflow.note.content"]
    assert note.startswith("cnnsearch study **tiny**: an Optuna search of 3 trials (random sampler, none pruner)")
    assert "`score_val_accuracy`" in note
    assert "cnnsearch report SPEC --out report.html" in note
    assert "`plots/`" in note
    assert study.user_attrs["spec_path"] == f"runs:/{parent}/spec/resolved.toml"
