"""Architectures: the conditional space, residual blocks, Keras Applications backbones, export.

Backbones are built with weights=None (or a weights file the test saves itself) on
small inputs: no machine here downloads ImageNet weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from cnnsearch import backbones
from cnnsearch.cli import app
from cnnsearch.model import AUGMENTATION, build, inference_model
from cnnsearch.space import PLAIN_FIELDS, grid, searched_names, suggest
from cnnsearch.spec import BACKBONES, load_spec, validate_spec

ALL = ["plain", "residual", "mobilenet_v2", "resnet50", "efficientnet_b0"]
NO_AUGMENT = {"flip": "none", "rotation": 0.0, "translation": 0.0, "zoom": 0.0, "contrast": 0.0}
BACKBONE_PARAMS = {
    "backbone_weights": "none",
    "backbone_freeze": "none",
    "backbone_image_size": 0,
    "backbone_alpha": 0.35,
    "backbone_dropout": 0.0,
    "backbone_dense_units": 0,
    "backbone_fine_tune_epochs": 0,
    "backbone_fine_tune_lr_factor": 0.1,
}
CLI = [sys.executable, "-m", "cnnsearch"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}

#: A study over every architecture, 1 epoch on a few digits (8x8, resized to 32x32 for backbones).
STUDY = """
[study]
name = "{name}"
n_trials = {n_trials}
sampler = "{sampler}"
pruner = "none"
seed = 3

[data]
dataset = "digits"
max_train_samples = 150

[model]
architecture = {architecture}
blocks = 1
filters = 8
batch_norm = false
dropout = 0.0
dense_units = 0
kernel_size = 3

[model.residual]
stages = 2
blocks_per_stage = 1
width = 8
dropout = 0.0

[model.backbone]
alpha = 0.35
dropout = 0.1

[train]
epochs = 1
batch_size = 32
learning_rate = 0.01
optimizer = "adam"
{extra}
"""


def study_spec(workdir: Path, name: str, architecture: str, n_trials: int = 1, sampler: str = "random", extra: str = "") -> Path:
    path = workdir / f"{name}.toml"
    path.write_text(STUDY.format(name=name, architecture=architecture, n_trials=n_trials, sampler=sampler, extra=extra))
    return path


# --- the conditional space -------------------------------------------------------------


def test_a_trial_holds_only_its_architectures_params() -> None:
    spec = validate_spec(
        {
            "study": {"name": "x"},
            "data": {"dataset": "digits"},
            "model": {
                "architecture": {"choices": ALL},
                "backbone": {"freeze": {"choices": ["all", "none", 5]}, "alpha": {"choices": [0.35, 0.5]}},
            },
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = suggest(trial, spec)
        chosen = trial.params["architecture"]
        seen.add(chosen)
        names = set(trial.params)
        model_names = {n for n in names if n in PLAIN_FIELDS or n.startswith(("residual_", "backbone_"))}
        if chosen == "plain":
            assert model_names and model_names <= PLAIN_FIELDS
        elif chosen == "residual":
            assert model_names == {"residual_stages", "residual_blocks_per_stage", "residual_width", "residual_dropout"}
        else:
            expected = {"backbone_freeze"} | ({"backbone_alpha"} if chosen == "mobilenet_v2" else set())
            assert model_names == expected
            assert params["backbone_weights"] == "none"  # constants are in the params, not in Optuna's
        # The same params rebuild from the recorded ones alone (best --export does this).
        assert suggest(optuna.trial.FixedTrial(trial.params), spec) == params
        study.tell(trial, 0.5)
    assert seen == set(ALL)
    # Optuna's own view: each parameter's distribution appears only in trials of its architecture.
    for frozen in study.trials:
        if "residual_width" in frozen.distributions:
            assert frozen.params["architecture"] == "residual"


def test_default_spec_is_still_the_plain_cnn_with_the_same_param_names() -> None:
    spec = validate_spec({"study": {"name": "x"}, "data": {"dataset": "digits"}})
    assert spec.model.architecture == "plain"
    assert searched_names(spec) == [
        "blocks", "filters", "kernel_size", "batch_norm", "dropout", "dense_units",
        "batch_size", "learning_rate", "optimizer",
    ]
    params = suggest(optuna.trial.FixedTrial({"blocks": 2, "filters": 16, "kernel_size": 3, "batch_norm": True,
                                              "dropout": 0.1, "dense_units": 0, "batch_size": 32,
                                              "learning_rate": 0.001, "optimizer": "adam"}), spec)
    assert params["architecture"] == "plain" and not any(k.startswith(("residual_", "backbone_")) for k in params)
    assert build(params, (8, 8, 1), 10).name == "cnnsearch_cnn"


def test_grid_over_architectures_has_no_duplicate_points() -> None:
    spec = validate_spec(
        {"study": {"name": "x", "sampler": "grid"}, "data": {"dataset": "digits"},
         "model": {"architecture": {"choices": ["plain", "residual"]}, "dropout": 0.1, "residual": {"dropout": 0.0, "stages": 2}},
         "train": {"learning_rate": 0.01, "optimizer": "adam", "batch_size": 32}}
    )
    space = grid(spec)
    # Plain's searched fields and residual's, but no backbone field: none of the choices uses them.
    assert "residual_blocks_per_stage" in space and "blocks" in space
    assert not any(name.startswith("backbone_") for name in space)


# --- residual -------------------------------------------------------------------------


def test_residual_blocks_add_skip_connections_and_halve_per_stage() -> None:
    params = {**NO_AUGMENT, "architecture": "residual", "residual_stages": 3, "residual_blocks_per_stage": 2,
              "residual_width": 8, "residual_dropout": 0.1, "residual_dense_units": 16}
    model = build(params, (32, 32, 3), 10)
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 6
    assert [model.get_layer(f"stage{s}_block1_add").output.shape[1:] for s in (1, 2, 3)] == [
        (32, 32, 8), (16, 16, 16), (8, 8, 32)
    ]
    # The first block of a downsampling stage projects its shortcut; the others add the input itself.
    assert model.get_layer("stage2_block1_project") is not None
    assert "stage2_block2_project" not in [layer.name for layer in model.layers]
    assert model.get_layer("dense").units == 16 and model.output_shape == (None, 10)
    tiny = build({**params, "residual_stages": 4}, (8, 8, 1), 3)  # 8 -> 4 -> 2 -> 1: stops halving at 1 pixel
    assert tiny.predict(np.zeros((2, 8, 8, 1), "uint8"), verbose=0).shape == (2, 3)


# --- backbones ---------------------------------------------------------------------------


def _preprocessed(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """What the model feeds its backbone, for these raw images."""
    names = [layer.name for layer in model.layers]
    before = model.layers[names.index(backbones.BACKBONE) - 1]  # the last input-adapting layer
    probe = keras.Model(model.inputs, before.output)
    return np.asarray(probe.predict(images, verbose=0))


@pytest.mark.parametrize("architecture", BACKBONES)
def test_backbone_sees_what_its_application_expects(architecture: str) -> None:
    """Scaling per keras.applications.<app>.preprocess_input; gray -> RGB; resized to at least 32."""
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (3, 8, 8, 1)).astype("uint8")
    model = build({**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": architecture}, (8, 8, 1), 4)
    fed = _preprocessed(model, gray)
    assert fed.shape == (3, 32, 32, 3)
    rgb = keras.ops.convert_to_numpy(keras.layers.Resizing(32, 32)(np.repeat(gray, 3, axis=-1).astype("float32")))
    application = {"mobilenet_v2": keras.applications.mobilenet_v2, "resnet50": keras.applications.resnet50,
                   "efficientnet_b0": keras.applications.efficientnet}[architecture]
    expected = application.preprocess_input(rgb.copy())
    np.testing.assert_allclose(fed, expected, atol=1e-3)
    # A colour image keeps its channel order into the preprocessing (ResNet50's BGR swap is checked here).
    colour = rng.integers(0, 256, (2, 40, 40, 3)).astype("uint8")
    model = build({**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": architecture, "backbone_image_size": 40}, (40, 40, 3), 4)
    np.testing.assert_allclose(_preprocessed(model, colour), application.preprocess_input(colour.astype("float32")), atol=1e-3)
    assert "resize" not in [layer.name for layer in model.layers]


def test_weights_file_saved_by_the_test_loads_into_the_backbone(tmp_path: Path) -> None:
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35)
    for variable in source.weights[:5]:
        variable.assign(np.full(variable.shape, 0.123, "float32"))
    path = tmp_path / "mnv2.weights.h5"
    source.save_weights(path)
    model = build({**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": "mobilenet_v2", "backbone_weights": str(path)}, (32, 32, 3), 5)
    loaded = model.get_layer(backbones.BACKBONE).get_weights()
    assert len(loaded) == len(source.get_weights())
    for mine, theirs in zip(loaded, source.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    # Pretrained: the backbone runs in inference mode (its batch-norm statistics stay).
    assert backbones.pretrained({"backbone_weights": str(path)})


def test_freeze_all_none_and_top_layers() -> None:
    params = {**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": "mobilenet_v2"}
    head_only = build({**params, "backbone_freeze": "all"}, (32, 32, 3), 5)
    assert len(head_only.trainable_weights) == 2  # the predictions layer
    everything = build({**params, "backbone_freeze": "none"}, (32, 32, 3), 5)
    top = build({**params, "backbone_freeze": 10}, (32, 32, 3), 5)
    inner = top.get_layer(backbones.BACKBONE)
    assert [layer.trainable for layer in inner.layers[-10:]] == [True] * 10
    assert not any(layer.trainable for layer in inner.layers[:-10])
    assert len(head_only.trainable_weights) < len(top.trainable_weights) < len(everything.trainable_weights)


def test_weights_errors_are_one_line_and_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    spec = tmp_path / "s.toml"
    spec.write_text('[data]\ndataset = "digits"\n[model]\narchitecture = "mobilenet_v2"\n'
                    '[model.backbone]\nweights = "missing.weights.h5"\n')
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "model.backbone.weights" in line and "does not exist" in line

    two = tmp_path / "two.toml"
    (tmp_path / "w.weights.h5").write_bytes(b"")
    two.write_text('[data]\ndataset = "digits"\n[model]\narchitecture = { choices = ["mobilenet_v2", "resnet50"] }\n'
                   '[model.backbone]\nweights = "w.weights.h5"\n')
    result = runner.invoke(app, ["validate", str(two)])
    assert result.exit_code == 1 and "a weights file fits one backbone" in result.stderr

    # "imagenet" with an empty Keras cache and no route to the download host: one line, in seconds.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(backbones, "WEIGHTS_HOST", ("127.0.0.1", 9))  # nothing listens: refused at once
    monkeypatch.chdir(tmp_path)
    imagenet = load_spec(study_spec(tmp_path, "imagenet", '"resnet50"'), ["model.backbone.weights=imagenet"])
    assert imagenet.model.backbone.weights == "imagenet"
    import cnnsearch

    started = time.monotonic()
    with pytest.raises(backbones.WeightsError) as error:
        cnnsearch.run(imagenet)
    assert time.monotonic() - started < 30
    assert "not in the Keras cache" in str(error.value) and "resnet50_weights" in str(error.value)
    assert not (tmp_path / "mlruns").exists() or not any((tmp_path / "mlruns").glob("**/trial-*"))
    # Once the file is in the cache, no network is needed.
    cache = backbones.keras_cache()
    cache.mkdir(parents=True)
    (cache / backbones.imagenet_file("resnet50", 1.0, 224)).write_bytes(b"")
    backbones.ensure_imagenet("resnet50", 1.0, 224)


def test_fine_tuning_phase_unfreezes_and_lowers_the_rate(workdir: Path) -> None:
    from cnnsearch.callbacks import EpochReporter
    from cnnsearch.data import load
    from cnnsearch.train import fit

    spec = load_spec(study_spec(workdir, "ft", '"mobilenet_v2"'))
    splits = load(spec.data, spec.study.seed)
    params = {**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": "mobilenet_v2", "backbone_freeze": 12,
              "backbone_fine_tune_epochs": 2, "backbone_fine_tune_lr_factor": 0.1, "epochs": 1, "batch_size": 64,
              "learning_rate": 0.01, "optimizer": "adam"}
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
    np.testing.assert_allclose(twin.predict(splits.x_test, verbose=0),
                               model.predict(splits.x_test.astype("float32"), verbose=0), atol=1e-5)


# --- studies and exports ------------------------------------------------------------------


def test_study_runs_every_architecture_end_to_end(workdir: Path) -> None:
    import cnnsearch
    from mlflow.tracking import MlflowClient

    from cnnsearch.tracking import Tracker

    spec = load_spec(study_spec(workdir, "every", json.dumps(ALL).join(["{ choices = ", " }"]), n_trials=5, sampler="grid"))
    study = cnnsearch.run(spec)
    trials = study.get_trials()
    assert sorted(t.params["architecture"] for t in trials) == sorted(ALL)
    assert all(t.state.name == "COMPLETE" for t in trials), [t.user_attrs.get("fail_reason") for t in trials]
    counts = {t.params["architecture"]: t.user_attrs["param_count"] for t in trials}
    assert counts["resnet50"] > counts["efficientnet_b0"] > counts["mobilenet_v2"] > counts["plain"]
    # Per-class validation recall and F1 are in each trial's MLflow run.
    client = MlflowClient(Tracker(spec).uri)
    run = client.get_run(trials[0].user_attrs["mlflow_run_id"])
    assert {"val_recall/0", "val_f1/9"} <= set(run.data.metrics)
    assert run.data.params["architecture"] == trials[0].params["architecture"]


def _check_export(directory: Path, architecture: str) -> dict:
    card = json.loads((directory / "model_card.json").read_text())
    assert [e["format"] for e in card["exports"]] == ["keras", "saved_model", "onnx", "tflite"]
    assert all(e["max_prob_diff"] <= 1e-3 for e in card["exports"])
    assert card["params"]["architecture"] == architecture
    model = keras.models.load_model(directory / "model.keras")
    assert model.inputs[0].dtype == "uint8"
    names = [layer.name for layer in model.layers]
    assert AUGMENTATION not in names
    return card


def test_export_residual_through_the_cli(workdir: Path) -> None:
    spec = study_spec(workdir, "res", '"residual"', extra="[augment]\ntranslation = 0.1\n")
    ran = subprocess.run([*CLI, "run", str(spec)], cwd=workdir, env=ENV, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    result = subprocess.run([*CLI, "best", str(spec), "--export"], cwd=workdir, env=ENV, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    card = _check_export(workdir / "exports" / "res", "residual")
    assert card["model"]["architecture"] == "cnnsearch_resnet"


def test_export_mobilenet_v2_backbone(workdir: Path) -> None:
    import cnnsearch
    from cnnsearch.export import export_best  # not cnnsearch.export: once imported, that name is the module

    spec = load_spec(study_spec(workdir, "mnv2", '"mobilenet_v2"', extra="[augment]\nflip = \"horizontal\"\n"))
    cnnsearch.run(spec)
    result = export_best(spec, say=lambda line: None)
    card = _check_export(result.directory, "mobilenet_v2")
    model = keras.models.load_model(result.directory / "model.keras")
    assert backbones.BACKBONE in [layer.name for layer in model.layers]
    assert card["input"]["shape"] == [8, 8, 1]
