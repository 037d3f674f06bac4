"""The docs' spec reference is generated from the models: every field described, every field listed."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from cnnsearch.spec import Choices, FloatRange, IntRange, ObjectiveSpec, Spec, reference_markdown, section_fields

ROOT = Path(__file__).resolve().parents[3]


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found += [m for m in _models(field.annotation) if m not in found]
    return found


def test_every_field_has_a_description() -> None:
    models = [*_models(Spec), IntRange, FloatRange, Choices[int], ObjectiveSpec]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == [], f"fields without description=: {missing}"


def test_every_field_is_in_the_reference() -> None:
    text = reference_markdown()
    sections = section_fields()
    assert list(sections) == [
        "study",
        "data",
        "model",
        "model.residual",
        "model.backbone",
        "train",
        "augment",
        "tracking",
        "performance",
        "export",
    ]
    for path, fields in sections.items():
        model: type[BaseModel] = Spec
        for part in path.split("."):
            annotation = model.model_fields[part].annotation
            assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
            model = annotation
        expected = [name for name, field in model.model_fields.items() if field.annotation not in _models(Spec)]
        assert fields == expected, path
        table = text.split(f"## `[{path}]`\n", 1)[1].split("\n## ", 1)[0]
        for name in fields:
            description = model.model_fields[name].description or ""
            row = next((line for line in table.splitlines() if line.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{path}.{name} is not in the reference"
            assert row.endswith(description.replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;") + " |")


def test_reference_says_which_architecture_or_optimizer_a_field_applies_to() -> None:
    text = reference_markdown()

    def applies(section: str, name: str) -> str:
        table = text.split(f"## `[{section}]`\n", 1)[1]
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        return row.split(" | ")[4]

    assert applies("model.residual", "width") == "architecture = `residual`"
    assert applies("model.backbone", "alpha") == "architecture = `mobilenet_v2`"
    assert applies("model", "blocks") == "architecture = `plain`"
    assert applies("train", "momentum") == "optimizer = `sgd` (not with a compiling hypermodel)"
    assert applies("train", "batch_size") == "every trial"
    assert applies("train", "warmup_epochs").startswith("lr_schedule = `warmup_cosine`")
    assert applies("augment", "flip") == "every trial"


def test_the_reference_page_is_not_written_by_hand() -> None:
    """Its source holds an introduction and the marker the MkDocs hook replaces; no table."""
    page = (ROOT / "docs" / "spec-reference.md").read_text(encoding="utf-8")
    hook = (ROOT / "docs" / "hooks" / "spec_reference.py").read_text(encoding="utf-8")
    marker = re.search(r'MARKER = "(.*)"', hook)
    assert marker is not None and marker.group(1) in page
    assert not [line for line in page.splitlines() if line.startswith("|")]
    assert "hooks/spec_reference.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
