"""The spec files' JSON Schema: shipped up to date, pointed at by every shipped spec, and an
editor's view of a spec (taplo with the schema) agrees with ``cnnsearch validate``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnnsearch.errors import SpecError
from cnnsearch.spec import SCHEMA_FILE, json_schema, json_schema_text, load_spec
from cnnsearch.spec._dumping import _toml_value

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "search_spaces").glob("*.toml"))
DIRECTIVE = "#:schema ../cnnsearch/spec/spec.schema.json"
#: Shipped specs whose data.path is a placeholder for the user's folder.
NEEDS_FOLDER = {"folder.toml", "transfer.toml"}


def test_shipped_schema_is_the_models_output() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "cnnsearch/spec/spec.schema.json is stale: python -m cnnsearch schema > cnnsearch/spec/spec.schema.json"
    )


def test_cli_prints_the_shipped_schema(invoke) -> None:
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")
    assert json.loads(result.stdout)["title"] == "cnnsearch spec"


def test_every_shipped_spec_points_editors_at_the_schema() -> None:
    assert len(SHIPPED) >= 8
    for path in SHIPPED:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == DIRECTIVE, f"{path.name}: first line {first!r}"
        assert (path.parent / first.split()[1]).resolve() == SCHEMA_FILE.resolve()


def test_schema_has_no_null_and_forbids_unknown_keys() -> None:
    """TOML has no null; every table (section, range, choices) refuses keys it does not know."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    assert '"null"' not in text
    schema = json_schema()
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name


def _taplo() -> str:
    found = Path(sys.executable).with_name("taplo")
    return str(found) if found.is_file() else (shutil.which("taplo") or "taplo")


def _check(path: Path, *schema: str) -> subprocess.CompletedProcess[str]:
    """``taplo check`` as an editor runs it: with the file's own ``#:schema`` line, or ``--schema``."""
    args = [_taplo(), "check", *(["--schema", f"file://{schema[0]}"] if schema else []), str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=path.parent, check=False)


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def _validate(path: Path, overrides: tuple[str, ...] = ()) -> str | None:
    """None when the spec's fields validate, else validate's one line."""
    try:
        load_spec(path, overrides)
    except SpecError as exc:
        return str(exc)
    return None


@pytest.mark.slow
def test_taplo_passes_every_shipped_spec_as_validate_does(tmp_path: Path) -> None:
    result = subprocess.run(
        [_taplo(), "check", *(str(p) for p in SHIPPED)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    (tmp_path / "images").mkdir()
    for path in SHIPPED:
        overrides = (f"data.path={tmp_path / 'images'}",) if path.name in NEEDS_FOLDER else ()
        assert _validate(path, overrides) is None, path.name


@pytest.mark.slow
def test_a_misspelt_key_is_flagged_by_taplo_as_by_validate(tmp_path: Path, invoke) -> None:
    text = (ROOT / "search_spaces" / "digits.toml").read_text(encoding="utf-8")
    text = text.replace(DIRECTIVE, f"#:schema {SCHEMA_FILE}", 1).replace("[model]\n", "[model]\nblockz = 3\n", 1)
    path = tmp_path / "digits.toml"
    path.write_text(text, encoding="utf-8")
    errors = _errors(_check(path))
    assert "error: Additional properties are not allowed ('blockz' was unexpected)" in errors
    line = invoke.error_line("validate", str(path))
    assert line == f"error: {path}: unknown key 'model.blockz' (did you mean 'blocks'?)"


#: (section, key = value) lines that validate accepts, then ones it refuses, each for a rule the
#: schema can express; taplo must say the same of each.
ACCEPTED = [
    ("study", 'timeout = "2h"'),
    ("study", 'timeout = "1h30m"'),
    ("study", 'timeout = "45s"'),
    ("study", "timeout = 3600"),
    ("study", 'storage = "postgresql://cnnsearch:secret@dbhost/cnnsearch"'),
    ("model", "blocks = { low = 2, high = 4 }"),
    ("model", "blocks = { choices = [2, 3] }"),
    ("model", "dropout = { low = 0.0, high = 0.5, step = 0.1 }"),
    ("train", "learning_rate = { low = 1e-4, high = 1e-2, log = true }"),
    ("train", 'optimizer = { choices = ["adam", "sgd"] }'),
    ("train", 'class_weight = { "0" = 1.0, "1" = 3.0 }'),
    ("model.backbone", "freeze = 3"),
    ("model.backbone", 'freeze = { choices = ["all", 10] }'),
    ("performance", "steps_per_execution = 16"),
    ("data", "image_size = [64, 48]"),
]
REFUSED = [
    ("model", "blockz = 3"),
    ("study", 'timeout = "2 hours"'),
    ("study", "timeout = 0"),
    ("study", 'timeout = "0h0m"'),
    ("study", "seed = -1"),
    ("study", 'sampler = "tpx"'),
    ("study", 'storage = "optuna.db"'),
    ("study", "n_trials = 0"),
    ("model", "dropout = 0.99"),
    ("model", "blocks = { low = 2, high = 40 }"),
    ("model", "blocks = { low = 2 }"),
    ("model", "blocks = { choices = [] }"),
    ("model", "blocks = { low = 2, high = 4, lg = true }"),
    ("model.residual", "width = { choices = [16, 5000] }"),
    ("model.backbone", 'freeze = "some"'),
    ("train", 'optimizer = "adamm"'),
    ("train", 'class_weight = { "cat" = -1.0 }'),
    ("performance", "steps_per_execution = 0"),
    ("performance", "steps_per_execution = true"),
    ("data", "image_size = [0, 32]"),
    ("data", "image_size = [32]"),
]


#: What validate refuses and the schema cannot say, so taplo lets it pass (docs/spec.md lists them):
#: JSON Schema counts 2.0 as an integer; a backbone's image_size of 1-31 and ImageNet's alpha
#: values depend on other fields. The schema may be more lenient than validate, never stricter.
LENIENT = [
    ("model", "blocks = 2.0"),
    ("model.backbone", "image_size = 16"),
    ("model.backbone", 'weights = "imagenet"\nalpha = 0.9'),
]


def _spec_with(tmp_path: Path, name: str, section: str, line: str) -> Path:
    data = 'dataset = "digits"\n' + (line + "\n" if section == "data" else "")
    other = f"[{section}]\n{line}\n" if section != "data" else ""
    path = tmp_path / f"{name}.toml"
    path.write_text(f"#:schema {SCHEMA_FILE}\n[data]\n{data}{other}", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("section", "line"), ACCEPTED + REFUSED)
def test_taplo_agrees_with_validate(tmp_path: Path, section: str, line: str) -> None:
    path = _spec_with(tmp_path, "case", section, line)
    validated = _validate(path)
    result = _check(path)
    assert (validated is None) == ((section, line) in ACCEPTED), validated
    assert (result.returncode == 0) == (validated is None), f"validate: {validated}; taplo: {_errors(result)}"


def _examples(schema: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(section path, field, example) for every example the schema gives."""
    found = []
    pending = [("", schema)]
    while pending:
        prefix, node = pending.pop()
        for name, prop in node.get("properties", {}).items():
            ref = prop.get("$ref", "").removeprefix("#/$defs/")
            if ref.endswith("Spec") and ref != "ObjectiveSpec":
                pending.append((f"{prefix}{name}.", schema["$defs"][ref]))
            found.extend((prefix.rstrip("."), name, example) for example in prop.get("examples", []))
    return found


@pytest.mark.slow
def test_the_schemas_own_examples_pass_taplo_and_validate(tmp_path: Path) -> None:
    examples = _examples(json_schema())
    assert len(examples) >= 10
    for i, (section, name, example) in enumerate(examples):
        path = _spec_with(tmp_path, f"example{i}", section, f"{name} = {_toml_value(example)}")
        assert _validate(path) is None, (section, name, example)
        result = _check(path)
        assert result.returncode == 0, (section, name, example, _errors(result))


@pytest.mark.slow
@pytest.mark.parametrize(("section", "line"), LENIENT)
def test_what_the_schema_cannot_say_is_left_to_validate(tmp_path: Path, section: str, line: str) -> None:
    path = _spec_with(tmp_path, "lenient", section, line)
    assert _validate(path) is not None
    assert _check(path).returncode == 0
