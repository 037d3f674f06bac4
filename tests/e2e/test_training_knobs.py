"""Training knobs in a real study: label smoothing, clipping, SGD with Nesterov, warmup + cosine."""

from __future__ import annotations

import pytest

from tests.helpers import SpecFile

pytestmark = pytest.mark.slow


def test_a_study_with_every_knob_trains(tiny_spec_file: SpecFile) -> None:
    """Label smoothing, clipping, SGD with Nesterov, warmup + cosine: a real 2-epoch study completes."""
    import cnnsearch
    from cnnsearch.spec import load_spec

    path = tiny_spec_file(n_trials=2, epochs=2)
    text = path.read_text().replace(
        'optimizer = "adam"',
        'optimizer = { choices = ["sgd", "adamw"] }\n'
        "nesterov = true\nclipnorm = 1.0\nlabel_smoothing = 0.1\n"
        'lr_schedule = "warmup_cosine"\nwarmup_epochs = 1\nweight_decay = { low = 1e-4, high = 1e-2, log = true }',
    )
    path.write_text(text)
    spec = load_spec(path)
    study = cnnsearch.run(spec)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        assert ("weight_decay" in trial.params) == (trial.params["optimizer"] == "adamw")
