"""The spec's sections and their one-line errors: [performance], training knobs, architectures' sub-tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.errors import SpecError
from cnnsearch.spec import PerformanceSpec, load_spec, spec_to_toml
from tests.conftest import Invoke
from tests.helpers import SpecFile


def test_defaults_are_auto_and_round_trip(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(extra="\n[performance]\njit_compile = true\nsteps_per_execution = 4\n"))
    assert spec.performance == PerformanceSpec(mixed_precision="auto", jit_compile=True, steps_per_execution=4)
    assert load_spec(tiny_spec_file()).performance == PerformanceSpec()
    path = tiny_spec_file()
    path.write_text(spec_to_toml(spec))  # the resolved TOML loads back to the same section
    assert load_spec(path).performance == spec.performance


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('jit_compile = "yes"', "performance.jit_compile: expected \"auto\", true or false, got 'yes'"),
        ("mixed_precision = 1", 'performance.mixed_precision: expected "auto", true or false, got 1'),
        (
            "steps_per_execution = 0",
            'performance.steps_per_execution: expected "auto" or an integer from 1 to 10000, got 0',
        ),
        (
            "steps_per_execution = true",
            'performance.steps_per_execution: expected "auto" or an integer from 1 to 10000',
        ),
        ("steps_per_exec = 2", "unknown key 'performance.steps_per_exec' (did you mean 'steps_per_execution'?)"),
    ],
)
def test_bad_values_are_one_line_errors(tiny_spec_file: SpecFile, extra: str, message: str) -> None:
    path = tiny_spec_file(extra=f"\n[performance]\n{extra}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


BAD = {
    "label smoothing too high": ("[train]\nlabel_smoothing = 0.7\n", ["train.label_smoothing", "outside the allowed"]),
    "unknown schedule": ('[train]\nlr_schedule = "step"\n', ["train.lr_schedule", "'step'"]),
    "unknown class in weights": (
        '[train]\nclass_weight = { "eleven" = 3.0 }\n',
        ["train.class_weight", "no class 'eleven'"],
    ),
    "negative class weight": ('[train]\nclass_weight = { "3" = -1.0 }\n', ["train.class_weight"]),
    "unknown sampling": ('[train]\nsampling = "smote"\n', ["train.sampling", "'smote'"]),
    "freeze not all/none/int": (
        '[model]\narchitecture = "resnet50"\n[model.backbone]\nfreeze = "some"\n',
        ["model.backbone.freeze"],
    ),
    "image size below 32": ("[model.backbone]\nimage_size = 16\n", ["model.backbone.image_size", "below 32"]),
    "typo in a sub-table": (
        "[model.residual]\nwidht = 16\n",
        ["unknown key 'model.residual.widht'", "did you mean 'width'"],
    ),
    "unknown architecture": ('[model]\narchitecture = "vgg16"\n', ["model.architecture", "'vgg16'"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_knob_is_one_line(invoke: Invoke, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text, expected = BAD[case]
    path = tmp_path / "s.toml"
    path.write_text('[data]\ndataset = "digits"\n' + text)
    # `run` checks class names against the data before any training; `validate` the rest.
    command = ["run", str(path)] if "class" in case and "weights" in case else ["validate", str(path)]
    line = invoke.error_line(*command)
    for words in expected:
        assert words in line, line
