"""Registering an exported model: MLflow's process-wide tracking URI is set only for the call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SpecFile


def test_logging_the_model_leaves_the_process_tracking_uri_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """log_model needs MLflow's global URI; it must not leak into later work in the same process."""
    import mlflow

    from cnnsearch.tracking._registry import tracking_uri_set as _tracking_uri

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'user.db'}")
    with _tracking_uri(f"sqlite:///{tmp_path / 'export.db'}"):
        assert mlflow.get_tracking_uri().endswith("export.db")
    assert os.environ["MLFLOW_TRACKING_URI"].endswith("user.db")
    assert mlflow.get_tracking_uri().endswith("user.db")


def _card(accuracy: float, trial: int) -> dict:
    """The parts of a model card a registry version's note is made of."""
    return {
        "test": {"accuracy": accuracy, "samples": 360},
        "search": {"study": "tiny", "trial": trial, "metric": "val_accuracy", "value": 0.98},
        "shipped": {"description": f"trial {trial} retrained on train + validation for 4 epochs"},
    }


def test_each_version_explains_itself_and_the_champion_moves_only_on_a_strictly_better_test(
    mlflow_store: Path, tiny_spec_file: SpecFile
) -> None:
    """Real registry versions (no model files needed): description, tags, and the champion alias rule."""
    from mlflow.tracking import MlflowClient

    from cnnsearch.spec import load_spec
    from cnnsearch.tracking import Tracker, describe_version
    from cnnsearch.tracking._registry import CHAMPION_RULE, VersionNote

    tracker = Tracker(load_spec(tiny_spec_file()))
    client = MlflowClient(tracker.uri)
    client.create_registered_model("tiny")

    def register(accuracy: float, trial: int) -> tuple[str, VersionNote]:
        run = client.create_run(tracker.experiment_id)
        version = str(client.create_model_version("tiny", f"runs:/{run.info.run_id}/model", run.info.run_id).version)
        return version, describe_version(tracker, "tiny", version, _card(accuracy, trial), "ab" * 32)

    first, note = register(0.90, 3)
    assert note.champion and note.previous is None
    stored = client.get_model_version("tiny", first)
    assert stored.tags == {"test_accuracy": "0.900000", "study": "tiny", "trial": "3", "spec_sha256": "ab" * 32}
    assert stored.description is not None and stored.description.startswith(
        "cnnsearch study `tiny`, trial 3 (val_accuracy 0.9800 in the search). Test accuracy 0.9000 on 360 held-out "
        "images. Shipped: trial 3 retrained on train + validation for 4 epochs. On export it took the alias `champion` (the first version)."
    )
    assert stored.description.endswith(CHAMPION_RULE)

    tie, note = register(0.90, 4)  # equal: the older one stays
    assert not note.champion and note.previous == first == "1"
    assert "On export the `champion` stayed version 1 (test accuracy 0.9000)." in str(
        client.get_model_version("tiny", tie).description
    )
    assert str(client.get_model_version_by_alias("tiny", "champion").version) == first

    better, note = register(0.95, 5)
    assert note.champion and note.previous == first
    assert "On export it took the alias `champion` (it beat version 1's 0.9000)." in str(
        client.get_model_version("tiny", better).description
    )
    assert str(client.get_model_version_by_alias("tiny", "champion").version) == better

    worse, note = register(0.93, 6)
    assert not note.champion and note.previous == better
    assert str(client.get_model_version_by_alias("tiny", "champion").version) == better


def test_a_repeat_export_ties_with_the_champion_whatever_its_accuracy_s_decimals(
    mlflow_store: Path, tiny_spec_file: SpecFile
) -> None:
    """66/360 has endless decimals; the champion's tag keeps 6: the same figure again is a tie, not a win."""
    from mlflow.tracking import MlflowClient

    from cnnsearch.spec import load_spec
    from cnnsearch.tracking import Tracker, describe_version

    tracker = Tracker(load_spec(tiny_spec_file()))
    client = MlflowClient(tracker.uri)
    client.create_registered_model("tiny")
    run = client.create_run(tracker.experiment_id)
    notes = []
    for trial in (2, 2):
        version = str(client.create_model_version("tiny", f"runs:/{run.info.run_id}/model", run.info.run_id).version)
        notes.append(describe_version(tracker, "tiny", version, _card(66 / 360, trial), "ab" * 32))
    assert notes[0].champion and not notes[1].champion
    assert str(client.get_model_version_by_alias("tiny", "champion").version) == "1"
