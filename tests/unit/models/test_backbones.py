"""Keras Applications backbones: preprocessing, weights files, freezing, weight errors (built, never trained).

Backbones are built with weights=None (or a weights file the test saves itself) on
small inputs: no machine here downloads ImageNet weights.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnsearch.models import _backbones as backbones
from cnnsearch.models import build
from cnnsearch.spec import BACKBONES, load_spec
from tests.conftest import Invoke
from tests.helpers import BACKBONE_PARAMS, NO_AUGMENT, study_spec


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
    application = {
        "mobilenet_v2": keras.applications.mobilenet_v2,
        "resnet50": keras.applications.resnet50,
        "efficientnet_b0": keras.applications.efficientnet,
    }[architecture]
    expected = application.preprocess_input(rgb.copy())
    np.testing.assert_allclose(fed, expected, atol=1e-3)
    # A colour image keeps its channel order into the preprocessing (ResNet50's BGR swap is checked here).
    colour = rng.integers(0, 256, (2, 40, 40, 3)).astype("uint8")
    model = build(
        {**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": architecture, "backbone_image_size": 40}, (40, 40, 3), 4
    )
    np.testing.assert_allclose(
        _preprocessed(model, colour), application.preprocess_input(colour.astype("float32")), atol=1e-3
    )
    assert "resize" not in [layer.name for layer in model.layers]


def test_backbone_sizes_are_recorded_in_the_order_of_their_applications() -> None:
    """The param_count a trial records (``Model.count_params``): ResNet50 > EfficientNetB0 > MobileNetV2 (alpha 0.35)."""
    counts = {
        name: build({**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": name}, (8, 8, 1), 10).count_params()
        for name in BACKBONES
    }
    assert counts["resnet50"] > counts["efficientnet_b0"] > counts["mobilenet_v2"] > 100_000


def test_weights_file_saved_by_the_test_loads_into_the_backbone(tmp_path: Path) -> None:
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35)
    for variable in source.weights[:5]:
        variable.assign(np.full(variable.shape, 0.123, "float32"))
    path = tmp_path / "mnv2.weights.h5"
    source.save_weights(path)
    model = build(
        {**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": "mobilenet_v2", "backbone_weights": str(path)}, (32, 32, 3), 5
    )
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


def test_weights_errors_are_one_line_and_fast(invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[data]\ndataset = "digits"\n[model]\narchitecture = "mobilenet_v2"\n'
        '[model.backbone]\nweights = "missing.weights.h5"\n'
    )
    line = invoke.error_line("validate", str(spec))
    assert "model.backbone.weights" in line and "does not exist" in line

    two = tmp_path / "two.toml"
    (tmp_path / "w.weights.h5").write_bytes(b"")
    two.write_text(
        '[data]\ndataset = "digits"\n[model]\narchitecture = { choices = ["mobilenet_v2", "resnet50"] }\n'
        '[model.backbone]\nweights = "w.weights.h5"\n'
    )
    assert "a weights file fits one backbone" in invoke.error_line("validate", str(two))

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
    assert not (tmp_path / "mlruns").exists()  # stopped before the study or the MLflow store was opened
    # Once the file is in the cache, no network is needed.
    cache = backbones.keras_cache()
    cache.mkdir(parents=True)
    (cache / backbones.imagenet_file("resnet50", 1.0, 224)).write_bytes(b"")
    backbones.ensure_imagenet("resnet50", 1.0, 224)
