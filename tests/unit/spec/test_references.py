"""``module:function`` references (``model.hypermodel``): each bad one is a one-line spec error."""

from __future__ import annotations

import json
import signal
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


#: Module bodies that once ended ``cnnsearch validate`` (exit 3, 130, 4, a traceback), and the reason now given.
ESCAPING_IMPORTS = {
    "raise SystemExit(3)": "(SystemExit: 3)",
    "raise KeyboardInterrupt": "(KeyboardInterrupt)",
    "import sys\nsys.exit('bye')": "(SystemExit: bye)",
    "class B(BaseException):\n    pass\nraise B('custom base')": "(B: custom base)",
    "class E(Exception):\n    def __str__(self):\n        raise ValueError\nraise E()": (
        "(E, whose message cannot be shown: its __str__ fails)"
    ),
    "class E(Exception):\n    def __str__(self):\n        raise SystemExit(4)\nraise E()": (
        "(E, whose message cannot be shown: its __str__ fails)"
    ),
}


@pytest.mark.parametrize("body", sorted(ESCAPING_IMPORTS), ids=range(len(ESCAPING_IMPORTS)))
def test_a_module_that_exits_or_breaks_str_on_import_is_one_spec_error(tmp_path: Path, body: str) -> None:
    module = tmp_path / "escaping.py"
    module.write_text(body + "\n\ndef build(hp):\n    return None\n")
    spec = write_spec(tmp_path, f"{module}:build")
    with pytest.raises(SpecError) as error:
        load_spec(spec, [])
    assert str(error.value) == (f"{spec}: model.hypermodel: cannot import '{module}' {ESCAPING_IMPORTS[body]}")
    module.write_text("def build(hp):\n    return None\n")  # fixed: the failed import was not kept
    assert load_spec(spec, []).model.hypermodel == f"{module}:build"


def test_a_module_getattr_that_exits_is_one_spec_error(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def __getattr__(name):\n    raise SystemExit(5)\n")
    spec = write_spec(tmp_path, f"{module}:build")
    with pytest.raises(SpecError) as error:
        load_spec(spec, [])
    assert str(error.value) == f"{spec}: model.hypermodel: cannot get 'build' from '{module}' (SystemExit: 5)"


def test_a_real_ctrl_c_during_the_import_still_interrupts(tmp_path: Path) -> None:
    # Python's own Ctrl-C handler, whatever this process inherited (a job started with `&` ignores SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        module = tmp_path / "slow.py"
        module.write_text("import signal\nsignal.raise_signal(signal.SIGINT)\n\ndef build(hp):\n    return None\n")
        with pytest.raises(KeyboardInterrupt):
            load_spec(write_spec(tmp_path, f"{module}:build"), [])
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_module_that_prints_as_it_loads_leaves_validate_json_intact(invoke, tmp_path: Path) -> None:
    module = tmp_path / "noisy.py"
    module.write_text(
        f"print('loading noisy')\nfrom runpy import run_path\nbuild = run_path({str(EXAMPLE)!r})['build']\n"
    )
    result = invoke("validate", str(write_spec(tmp_path, f"{module}:build")), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"]["hypermodel"] == f"{module}:build"
    assert "loading noisy" in result.stderr
