"""Training knobs: optimizer settings, learning-rate schedules, label smoothing, gradient clipping."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from cnnsearch.cli import app
from cnnsearch.losses import SparseSmoothedCrossentropy, make_loss
from cnnsearch.schedules import ONE_CYCLE_START, learning_rate
from cnnsearch.space import suggest
from cnnsearch.spec import validate_spec
from cnnsearch.train import make_optimizer, standard_callbacks


def test_optimizer_knobs_reach_keras() -> None:
    adamw = make_optimizer({"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.05, "clipnorm": 1.5})
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == pytest.approx(0.05) and adamw.clipnorm == pytest.approx(1.5)
    sgd = make_optimizer({"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.8, "nesterov": True})
    assert sgd.momentum == pytest.approx(0.8) and sgd.nesterov is True and sgd.clipnorm is None
    # Old params (before these knobs) keep their old optimizers: SGD momentum 0.9, AdamW Keras's decay.
    old_sgd = make_optimizer({"optimizer": "sgd", "learning_rate": 0.1})
    assert old_sgd.momentum == pytest.approx(0.9) and old_sgd.nesterov is False
    assert make_optimizer({"optimizer": "adamw", "learning_rate": 0.1}).weight_decay == pytest.approx(0.004)


def test_optimizer_params_are_conditional_on_the_optimizer() -> None:
    spec = validate_spec({
        "study": {"name": "x"},
        "data": {"dataset": "digits"},
        "train": {
            "optimizer": {"choices": ["adam", "adamw", "sgd"]},
            "weight_decay": {"low": 1e-5, "high": 1e-1, "log": True},
            "momentum": {"low": 0.8, "high": 0.99},
            "nesterov": {"choices": [True, False]},
            "lr_schedule": {"choices": ["constant", "warmup_cosine"]},
            "warmup_epochs": {"low": 1, "high": 3},
        },
    })
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        suggest(trial, spec)
        names, optimizer = set(trial.params), trial.params["optimizer"]
        seen.add(optimizer)
        assert ("weight_decay" in names) == (optimizer == "adamw")
        assert ({"momentum", "nesterov"} <= names) == (optimizer == "sgd") and ("momentum" in names) == (optimizer == "sgd")
        assert ("warmup_epochs" in names) == (trial.params["lr_schedule"] == "warmup_cosine")
        study.tell(trial, 0.0)
    assert seen == {"adam", "adamw", "sgd"}


def test_schedules_follow_their_shapes() -> None:
    steps, epochs, rate = 10, 5, 0.1
    assert learning_rate({"lr_schedule": "constant"}, rate, steps, epochs) == rate

    def at(schedule: keras.optimizers.schedules.LearningRateSchedule, step: int) -> float:
        return float(keras.ops.convert_to_numpy(schedule(step)))

    cosine = learning_rate({"lr_schedule": "cosine"}, rate, steps, epochs)
    assert at(cosine, 0) == pytest.approx(rate) and at(cosine, 25) == pytest.approx(rate / 2, rel=1e-3)
    assert at(cosine, 50) == pytest.approx(0.0, abs=1e-6)
    warm = learning_rate({"lr_schedule": "warmup_cosine", "warmup_epochs": 2}, rate, steps, epochs)
    assert at(warm, 0) == pytest.approx(0.0, abs=1e-7) and at(warm, 10) == pytest.approx(rate / 2, rel=1e-3)
    assert at(warm, 20) == pytest.approx(rate, rel=1e-4) and at(warm, 50) < rate / 100
    cycle = learning_rate({"lr_schedule": "one_cycle"}, rate, steps, epochs)
    assert at(cycle, 0) == pytest.approx(rate * ONE_CYCLE_START, rel=1e-4)
    assert at(cycle, 15) == pytest.approx(rate, rel=1e-4)  # the peak, 30% in
    assert at(cycle, 50) < rate / 1e4


def test_a_schedule_replaces_the_plateau_callback() -> None:
    base = {"early_stopping_patience": 2, "reduce_lr_patience": 2}
    kinds = lambda params: {type(c).__name__ for c in standard_callbacks(params, "val_accuracy", "maximize")}  # noqa: E731
    assert "ReduceLROnPlateau" in kinds({**base, "lr_schedule": "constant"})
    assert "ReduceLROnPlateau" not in kinds({**base, "lr_schedule": "cosine"})
    assert "EarlyStopping" in kinds({**base, "lr_schedule": "cosine"})


def test_label_smoothing_on_integer_labels_matches_the_categorical_loss() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=6).astype("float32")
    labels = np.array([0, 1, 2, 3, 1, 0])
    smoothed = SparseSmoothedCrossentropy(0.1)(labels, probs)
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(4)[labels], probs)
    assert float(smoothed) == pytest.approx(float(expected), rel=1e-5)
    assert float(smoothed) != pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(labels, probs)), rel=1e-3)
    assert make_loss({"label_smoothing": 0.0}) == "sparse_categorical_crossentropy"
    restored = keras.losses.deserialize(keras.losses.serialize(SparseSmoothedCrossentropy(0.2)))
    assert restored.label_smoothing == pytest.approx(0.2)


def test_a_study_with_every_knob_trains(tiny_spec_file) -> None:
    """Label smoothing, clipping, SGD with Nesterov, warmup + cosine: a real 2-epoch study completes."""
    import cnnsearch
    from cnnsearch.spec import load_spec

    path = tiny_spec_file(n_trials=2, epochs=2)
    text = path.read_text().replace('optimizer = "adam"', 'optimizer = { choices = ["sgd", "adamw"] }\n'
                                    'nesterov = true\nclipnorm = 1.0\nlabel_smoothing = 0.1\n'
                                    'lr_schedule = "warmup_cosine"\nwarmup_epochs = 1\nweight_decay = { low = 1e-4, high = 1e-2, log = true }')
    path.write_text(text)
    spec = load_spec(path)
    study = cnnsearch.run(spec)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        assert ("weight_decay" in trial.params) == (trial.params["optimizer"] == "adamw")


BAD = {
    "label smoothing too high": ("[train]\nlabel_smoothing = 0.7\n", ["train.label_smoothing", "outside the allowed"]),
    "unknown schedule": ('[train]\nlr_schedule = "step"\n', ["train.lr_schedule", "'step'"]),
    "unknown class in weights": ('[train]\nclass_weight = { "eleven" = 3.0 }\n', ["train.class_weight", "no class 'eleven'"]),
    "negative class weight": ('[train]\nclass_weight = { "3" = -1.0 }\n', ["train.class_weight"]),
    "unknown sampling": ('[train]\nsampling = "smote"\n', ["train.sampling", "'smote'"]),
    "freeze not all/none/int": ('[model]\narchitecture = "resnet50"\n[model.backbone]\nfreeze = "some"\n', ["model.backbone.freeze"]),
    "image size below 32": ("[model.backbone]\nimage_size = 16\n", ["model.backbone.image_size", "below 32"]),
    "typo in a sub-table": ("[model.residual]\nwidht = 16\n", ["unknown key 'model.residual.widht'", "did you mean 'width'"]),
    "unknown architecture": ('[model]\narchitecture = "vgg16"\n', ["model.architecture", "'vgg16'"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_knob_is_one_line(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text, expected = BAD[case]
    path = tmp_path / "s.toml"
    path.write_text('[data]\ndataset = "digits"\n' + text)
    # `run` checks class names against the data before any training; `validate` the rest.
    command = ["run", str(path)] if "class" in case and "weights" in case else ["validate", str(path)]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for words in expected:
        assert words in lines[0], lines[0]
