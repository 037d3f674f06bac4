"""Architectures trained and exported: fine-tuning a backbone, a study over every architecture, exports.

Backbones are built with weights=None on small inputs: no machine here downloads
ImageNet weights. Built-only checks are in ``tests/unit/models/`` and ``tests/unit/spec/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnsearch.models import _backbones as backbones
from cnnsearch.models import build
from cnnsearch.models._plain import AUGMENTATION, inference_model
from cnnsearch.spec import load_spec
from tests.e2e.conftest import Cli
from tests.helpers import BACKBONE_PARAMS, NO_AUGMENT, run_in, study_spec

# Trained in one study: both built-in networks and a Keras Applications backbone. resnet50 and
# efficientnet_b0 take mobilenet_v2's path (models/_backbones.py); tests/unit/models/test_backbones.py
# builds each, checks its input and preprocessing, and orders their sizes.
ALL = ["plain", "residual", "mobilenet_v2"]
pytestmark = pytest.mark.slow


# --- training -------------------------------------------------------------------------


def test_fine_tuning_phase_unfreezes_and_lowers_the_rate(workdir: Path) -> None:
    from cnnsearch.data import load
    from cnnsearch.training import EpochReporter, fit

    spec = load_spec(study_spec(workdir, "ft", '"mobilenet_v2"'))
    splits = load(spec.data, spec.study.seed)
    params = {
        **NO_AUGMENT,
        **BACKBONE_PARAMS,
        "architecture": "mobilenet_v2",
        "backbone_freeze": 12,
        "backbone_fine_tune_epochs": 2,
        "backbone_fine_tune_lr_factor": 0.1,
        "epochs": 1,
        "batch_size": 64,
        "learning_rate": 0.01,
        "optimizer": "adam",
    }
    model = build(params, splits.input_shape, splits.num_classes)
    assert not model.get_layer(backbones.BACKBONE).trainable  # the head trains first
    rates: list[float] = []
    reporter = EpochReporter([lambda epoch, metrics: rates.append(metrics["learning_rate"])], len(splits.x_train))
    history = fit(model, splits, params, [reporter]).history
    assert len(history["loss"]) == 3 and len(history["val_accuracy"]) == 3
    assert rates == pytest.approx([0.01, 0.001, 0.001])
    inner = model.get_layer(backbones.BACKBONE)
    assert [layer.trainable for layer in inner.layers[-12:]] == [True] * 12 and not inner.layers[0].trainable
    # The inference twin (uint8 input, weights copied by layer name, nested backbone included) agrees.
    twin = inference_model(model, params, splits.input_shape, splits.num_classes)
    np.testing.assert_allclose(
        twin.predict(splits.x_test, verbose=0), model.predict(splits.x_test.astype("float32"), verbose=0), atol=1e-5
    )


# --- studies and exports ------------------------------------------------------------------


def test_study_runs_every_architecture_end_to_end(workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    import cnnsearch
    from cnnsearch.tracking import Tracker

    spec = load_spec(
        study_spec(workdir, "every", json.dumps(ALL).join(["{ choices = ", " }"]), n_trials=len(ALL), sampler="grid")
    )
    study = cnnsearch.run(spec)
    trials = study.get_trials()
    assert sorted(t.params["architecture"] for t in trials) == sorted(ALL)
    assert all(t.state.name == "COMPLETE" for t in trials), [t.user_attrs.get("fail_reason") for t in trials]
    counts = {t.params["architecture"]: t.user_attrs["param_count"] for t in trials}
    assert counts["mobilenet_v2"] > counts["residual"] > counts["plain"]
    # Per-class validation recall and F1 are one table artifact of each trial's MLflow run.
    client = MlflowClient(Tracker(spec).uri)
    run = client.get_run(trials[0].user_attrs["mlflow_run_id"])
    assert "val_per_class.json" in [a.path for a in client.list_artifacts(run.info.run_id)]
    assert not {"val_recall/0", "val_f1/9"} & set(run.data.metrics)
    assert run.data.params["architecture"] == trials[0].params["architecture"]


def _check_export(directory: Path, architecture: str, formats: list[str]) -> dict:
    card = json.loads((directory / "model_card.json").read_text())
    assert [e["format"] for e in card["exports"]] == formats
    assert all(e["max_prob_diff"] <= 1e-3 for e in card["exports"])
    assert card["params"]["architecture"] == architecture
    model = keras.models.load_model(directory / "model.keras")
    assert model.inputs[0].dtype == "uint8"
    names = [layer.name for layer in model.layers]
    assert AUGMENTATION not in names
    return card


def test_export_residual_through_the_cli(cli: Cli, workdir: Path) -> None:
    spec = study_spec(workdir, "res", '"residual"', extra="[augment]\ntranslation = 0.1\n")
    run_in(workdir, spec)
    result = cli("best", str(spec), "--export", "--formats", "keras", cwd=workdir)
    assert result.returncode == 0, result.stderr
    # Keras only: every format on a residual network is tests/unit/export/test_model_kinds.py's.
    card = _check_export(workdir / "exports" / "res", "residual", ["keras"])
    assert card["model"]["architecture"] == "cnnsearch_resnet"


def test_export_mobilenet_v2_backbone(workdir: Path) -> None:
    import cnnsearch
    from cnnsearch.export import export_best  # not cnnsearch.export: once imported, that name is the module

    spec = load_spec(study_spec(workdir, "mnv2", '"mobilenet_v2"', extra='[augment]\nflip = "horizontal"\n'))
    cnnsearch.run(spec)
    # tf2onnx rewrites the graph: a built-only backbone is no proof of it. SavedModel and LiteRT convert
    # a plain CNN in tests/e2e/test_export.py, and networks wrapped in flips and ensembles in tests/unit/export/.
    formats = ["keras", "onnx"]
    result = export_best(spec, formats=formats, say=lambda line: None)
    card = _check_export(result.directory, "mobilenet_v2", formats)
    model = keras.models.load_model(result.directory / "model.keras")
    # Trained with horizontal flips: test-time flips wrap the network ([export] test_time_flips = auto).
    assert card["shipped"]["test_time_flips"] is True
    assert backbones.BACKBONE in [layer.name for layer in model.get_layer("unflipped").layers]
    assert card["input"]["shape"] == [8, 8, 1]
