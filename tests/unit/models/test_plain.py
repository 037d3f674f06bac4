"""The model builder: architecture from params alone, augmentation only in training."""

from __future__ import annotations

import json

import keras
import numpy as np
import optuna

from cnnsearch.models import build
from cnnsearch.models._plain import AUGMENTATION
from cnnsearch.search import suggest
from cnnsearch.spec import searched_names, validate_spec

PARAMS = {
    "blocks": 3,
    "filters": 8,
    "filter_growth": 2.0,
    "convs_per_block": 2,
    "kernel_size": 3,
    "batch_norm": True,
    "dropout": 0.2,
    "dense_units": 32,
    "head": "global_average",
    "flip": "horizontal",
    "rotation": 0.1,
    "translation": 0.1,
    "zoom": 0.1,
    "contrast": 0.2,
}


def _architecture(model: keras.Model) -> str:
    return json.dumps(model.get_config(), sort_keys=True, default=str)


def test_same_params_same_architecture() -> None:
    keras.backend.clear_session()  # auto-named layers (the augmentation's input) count from zero, whatever ran before
    first = build(PARAMS, (32, 32, 3), 10)
    keras.backend.clear_session()
    second = build(PARAMS, (32, 32, 3), 10)
    assert _architecture(first) == _architecture(second)
    assert first.count_params() == second.count_params()


def test_blocks_filters_growth_and_head() -> None:
    model = build(PARAMS, (32, 32, 3), 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [8, 8, 16, 16, 32, 32]
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 6
    assert model.get_layer("dense").units == 32
    assert model.output_shape == (None, 10)
    flat = build({**PARAMS, "head": "flatten", "dense_units": 0, "batch_norm": False}, (32, 32, 3), 4)
    assert flat.get_layer("flatten") is not None
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in flat.layers)


def test_tiny_images_keep_their_pixels() -> None:
    model = build({**PARAMS, "blocks": 5, "head": "flatten"}, (8, 8, 1), 10)
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(pools) == 3  # 8 -> 4 -> 2 -> 1, then no more pooling
    assert model.predict(np.zeros((2, 8, 8, 1), "uint8"), verbose=0).shape == (2, 10)


def test_augmentation_is_inside_and_only_active_in_training() -> None:
    model = build(PARAMS, (16, 16, 3), 3)
    augmentation = model.get_layer(AUGMENTATION)
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype("float32")
    inference = keras.ops.convert_to_numpy(augmentation(images, training=False))
    training = keras.ops.convert_to_numpy(augmentation(images, training=True))
    np.testing.assert_allclose(inference, images)
    assert not np.allclose(training, images)
    # Two inference calls of the whole model agree (no random layer active).
    np.testing.assert_allclose(model.predict(images, verbose=0), model.predict(images, verbose=0))
    plain = build(
        {**PARAMS, "flip": "none", "rotation": 0.0, "translation": 0.0, "zoom": 0.0, "contrast": 0.0}, (16, 16, 3), 3
    )
    assert AUGMENTATION not in [layer.name for layer in plain.layers]


def test_fixed_trial_rebuilds_the_searched_model() -> None:
    spec = validate_spec({"data": {"dataset": "digits"}, "study": {"name": "x"}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    params = suggest(trial, spec)
    assert set(trial.params) == set(searched_names(spec))
    rebuilt = suggest(optuna.trial.FixedTrial(trial.params), spec)
    assert rebuilt == params
    assert _architecture(build(params, (8, 8, 1), 10)) == _architecture(build(rebuilt, (8, 8, 1), 10))
