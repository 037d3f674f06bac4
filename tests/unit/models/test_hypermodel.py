"""The user's build(hp) called for a trial: whatever it raises or returns instead of a model fails
that trial (TrialFailed, one line), never the process; Ctrl-C still stops."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from cnnsearch.errors import TrialFailed
from cnnsearch.models import build_hypermodel

BUILDS = """
import keras

def good(hp):
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(hp.Int("units", 2, 4))])

def none(hp):
    hp.Boolean("flag")

def number(hp):
    return 3

def exits(hp):
    raise SystemExit(2)

def interrupted(hp):
    raise KeyboardInterrupt

class Unprintable(Exception):
    def __str__(self):
        raise SystemExit("from __str__")

def unprintable(hp):
    raise Unprintable()

class Exits(keras.layers.Layer):
    def call(self, x):
        raise SystemExit(7)

def bad_layer(hp):
    return keras.Sequential([Exits()])
"""


def _build(tmp_path: Path, function: str) -> keras.Model:
    import keras_tuner

    module = tmp_path / "builds.py"
    if not module.exists():
        module.write_text(BUILDS)
    reference = function if ":" in function else f"{module}:{function}"
    return build_hypermodel(reference, keras_tuner.HyperParameters(), {}, (8, 8, 1), 3)


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("none", "hypermodel builds.py:none returned None, not a keras.Model"),
        ("number", "hypermodel builds.py:number returned int, not a keras.Model"),
        ("exits", "hypermodel builds.py:exits raised SystemExit: 2"),
        ("unprintable", "hypermodel builds.py:unprintable raised Unprintable, whose message cannot be shown"),
        ("bad_layer", "hypermodel builds.py:bad_layer raised SystemExit: 7"),
        ("sys:exit", "hypermodel sys:exit raised SystemExit: <keras_tuner"),
    ],
)
def test_a_build_that_exits_or_returns_no_model_fails_the_trial(tmp_path: Path, function: str, reason: str) -> None:
    with pytest.raises(TrialFailed) as failed:
        _build(tmp_path, function)
    assert str(failed.value).startswith(reason) and "\n" not in str(failed.value)


def test_a_keyboard_interrupt_from_build_stops_as_ctrl_c_does(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path, "interrupted")


def test_a_good_build_is_wrapped(tmp_path: Path) -> None:
    model, config = _build(tmp_path, "good")
    assert model.get_layer("hypermodel").output.shape[-1] in (2, 3, 4) and config is None
