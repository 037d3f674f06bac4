"""Every export format on every kind of network the exports ship, built (never trained) and converted once.

The e2e exports write the four formats for one plain CNN (tests/e2e/test_export.py) and only
``keras`` elsewhere: the residual network, a Keras Applications backbone, an ensemble and
test-time flips are converted here, all inside one model, so each converter sees every layer
they bring without retraining anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import BACKBONE_PARAMS, NO_AUGMENT


def test_an_ensemble_of_a_residual_net_and_a_backbone_with_flips_converts_to_every_format(tmp_path: Path) -> None:
    import keras

    from cnnsearch.export import FORMATS, MAX_PROB_DIFF, average, with_flips, write_and_verify
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
    backbone = {**NO_AUGMENT, **BACKBONE_PARAMS, "architecture": "mobilenet_v2"}
    members = [build(params, (8, 8, 1), 3, augment=False, input_dtype="uint8") for params in (residual, backbone)]
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
