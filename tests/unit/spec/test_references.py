"""``module:function`` references (``model.hypermodel``): each bad one is a one-line spec error."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.errors import SpecError
from cnnsearch.spec import load_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "search_spaces" / "hypermodels" / "digits_hypermodel.py"

SPEC = """
[study]
name = "hm"
n_trials = {n_trials}
sampler = "random"
pruner = "none"
seed = 3
max_consecutive_failures = {failures}

[data]
dataset = "digits"
max_train_samples = 300

[model]
hypermodel = "{reference}"

[train]
epochs = 1
batch_size = 64
"""


def write_spec(folder: Path, reference: str, n_trials: int = 2, failures: int = 5) -> Path:
    path = folder / "hm.toml"
    path.write_text(SPEC.format(reference=reference, n_trials=n_trials, failures=failures))
    return path


@pytest.mark.parametrize(
    ("reference", "extra", "message"),
    [
        ("nosuch.py:build", "", "model.hypermodel: no such file"),
        ("{example}:nothing", "", "has no attribute 'nothing'"),
        ("no_such_module_xyz:build", "", "cannot import 'no_such_module_xyz' (ModuleNotFoundError"),
        ("just-a-name", "", "expected 'module.path:function'"),
        ("{example}:build", "blocks = 3\n", "model.blocks: not used with hypermodel"),
    ],
)
def test_bad_hypermodel_reference_is_a_one_line_spec_error(
    tmp_path: Path, reference: str, extra: str, message: str
) -> None:
    spec = write_spec(tmp_path, reference.format(example=EXAMPLE))
    spec.write_text(spec.read_text().replace("[model]\n", f"[model]\n{extra}"))
    with pytest.raises(SpecError, match=None) as error:
        load_spec(spec, [])
    assert message in str(error.value)
    assert "\n" not in str(error.value)
