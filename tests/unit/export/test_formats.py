"""Each export format is reloaded and compared with the model: a disagreeing file is an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY_PLAIN


def test_disagreeing_artifact_fails_loudly(tmp_path: Path) -> None:
    """A reloaded file whose predictions differ from the model's is an error, never a success."""
    import keras

    from cnnsearch.export import ExportError
    from cnnsearch.export._formats import write_and_verify
    from cnnsearch.models import build

    model = build(TINY_PLAIN, (8, 8, 1), 3, augment=False, input_dtype="uint8")
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
