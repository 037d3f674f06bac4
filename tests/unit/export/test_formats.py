"""Each export format is reloaded and compared with the model: a disagreeing file is an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_disagreeing_artifact_fails_loudly(tmp_path: Path) -> None:
    """A reloaded file whose predictions differ from the model's is an error, never a success."""
    import keras

    from cnnsearch.export import ExportError, write_and_verify
    from cnnsearch.models import build

    params = {
        "blocks": 1,
        "filters": 4,
        "filter_growth": 2.0,
        "convs_per_block": 1,
        "kernel_size": 3,
        "batch_norm": False,
        "dropout": 0.0,
        "dense_units": 0,
        "head": "global_average",
    }
    model = build(params, (8, 8, 1), 3, augment=False, input_dtype="uint8")
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    labels = np.zeros(20, dtype=np.int64)
    probs = np.asarray(model.predict(images, verbose=0))
    good = write_and_verify("keras", model, tmp_path, images, labels, probs)
    assert good.ok and good.max_prob_diff == 0.0
    skewed = probs.copy()
    skewed[:, 0] += 0.01
    with pytest.raises(ExportError, match="disagrees"):
        write_and_verify("keras", model, tmp_path, images, labels, skewed)
    keras.backend.clear_session()
