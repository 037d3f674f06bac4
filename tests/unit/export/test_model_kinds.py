"""Every export format on the network kinds the e2e exports write as ``keras`` only, built (never trained).

The e2e tests write the four formats for a plain CNN (tests/e2e/test_export.py) and a
MobileNetV2 backbone with test-time flips (tests/e2e/test_architectures.py); the residual
network, an ensemble and test-time flips are converted here, all inside one model, so each
converter sees every layer they bring without retraining anything. (An untrained MobileNetV2
is no stand-in for a trained one here: its SavedModel disagrees with it; the e2e test keeps it.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import NO_AUGMENT, TINY_PLAIN


@pytest.mark.slow  # three converters (SavedModel, tf2onnx, LiteRT): a minute on 2 CPU cores
def test_an_ensemble_of_a_residual_and_a_plain_net_with_flips_converts_to_every_format(tmp_path: Path) -> None:
    import keras

    from cnnsearch.export import average, with_flips
    from cnnsearch.export._formats import FORMATS, MAX_PROB_DIFF, write_and_verify
    from cnnsearch.models import build

    keras.utils.set_random_seed(0)
    residual = {
        **NO_AUGMENT,
        "architecture": "residual",
        "residual_stages": 2,
        "residual_blocks_per_stage": 1,
        "residual_width": 4,
        "residual_dropout": 0.0,
        "residual_dense_units": 0,
    }
    plain = {**NO_AUGMENT, **TINY_PLAIN, "architecture": "plain", "head": "flatten"}  # flatten: mirrors differ
    members = [build(params, (8, 8, 1), 3, augment=False, input_dtype="uint8") for params in (residual, plain)]
    model = with_flips(average(members))
    layers = [layer.name for layer in model.get_layer("unflipped").layers]
    assert "member_0" in layers and "member_1" in layers  # the ensemble is inside the flips wrapper
    images = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1), dtype=np.uint8)
    labels = np.arange(16) % 3
    probs = np.asarray(model.predict(images, verbose=0))
    agreements = [write_and_verify(name, model, tmp_path, images, labels, probs) for name in FORMATS]
    assert [a.format for a in agreements] == ["keras", "saved_model", "onnx", "tflite"]
    for agreement in agreements:
        assert agreement.ok and agreement.max_prob_diff <= MAX_PROB_DIFF, agreement
        assert agreement.label_agreement >= 0.99, agreement
    keras.backend.clear_session()
