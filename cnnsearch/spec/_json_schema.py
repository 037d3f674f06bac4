"""The spec's JSON Schema, for editors: generated from the same pydantic models that validate a spec.

Editors that read JSON Schema for TOML (taplo, VS Code's Even Better TOML) then complete and
check a spec as it is typed. pydantic writes the schema; this module adds the rules the models
check in validators, where JSON Schema can say them (durations, seeds, each field's bounds on a
constant, a range and its choices alike), and drops what TOML cannot hold (``null``). Rules that
relate fields (``low <= high``, ``final_share`` needs ``timeout``) stay with ``cnnsearch validate``.
``spec.schema.json`` beside this module is its output, shipped with the package.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cnnsearch.spec._data_section import MAX_IMAGE_SIDE
from cnnsearch.spec._performance import MAX_STEPS_PER_EXECUTION
from cnnsearch.spec._schema import Spec
from cnnsearch.spec._study_section import MAX_SEED
from cnnsearch.spec._types import MAX_TIMEOUT_S

#: The shipped schema; ``tests/unit/spec/test_json_schema.py`` checks it is this module's output.
SCHEMA_FILE = Path(__file__).with_name("spec.schema.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: ``parse_duration``'s forms ("2h", "90m", "1h30m", "45s"), at least one part present.
DURATION_PATTERN = r"^\s*(\d{1,9}h\s*(\d{1,9}m)?\s*(\d{1,9}s)?|\d{1,9}m\s*(\d{1,9}s)?|\d{1,9}s)\s*$"
#: "0s", "0h0m": refused like 0 (a zero timeout would mean no limit).
_ZERO_DURATION = r"^\s*(0+h)?\s*(0+m)?\s*(0+s)?\s*$"
_FREEZE = {"anyOf": [{"enum": ["all", "none"]}, {"type": "integer", "minimum": 0}]}

#: Per field (``Model.field``): what the JSON Schema says instead of, or besides, pydantic's type.
_RULES: dict[str, dict[str, Any]] = {
    "StudySpec.timeout": {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_S},
            {"type": "string", "pattern": DURATION_PATTERN, "not": {"pattern": _ZERO_DURATION}},
        ],
        "examples": ["2h", "90m", "1h30m", "45s", 3600],
    },
    "StudySpec.seed": {"minimum": 0, "maximum": MAX_SEED},
    "StudySpec.metric": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "examples": ["val_accuracy", "val_loss"]},
    "StudySpec.storage": {
        "pattern": r"^([A-Za-z][A-Za-z0-9+.-]*://\S+|.*[^/]\.journal)$",
        "examples": ["studies/cifar10.journal", "postgresql://cnnsearch:secret@dbhost/cnnsearch"],
    },
    "TrackingSpec.tracking_uri": {"examples": ["http://mlflow.internal:5000", "sqlite:///mlruns/mlflow.db"]},
    "DataSpec.image_size": {"items": {"type": "integer", "minimum": 1, "maximum": MAX_IMAGE_SIDE}},
    "PerformanceSpec.steps_per_execution": {
        "anyOf": [{"const": "auto"}, {"type": "integer", "minimum": 1, "maximum": MAX_STEPS_PER_EXECUTION}]
    },
    "ModelSpec.blocks": {"examples": [3, {"low": 2, "high": 4}, {"choices": [2, 3, 4]}]},
    "TrainSpec.learning_rate": {"examples": [0.001, {"low": 0.0001, "high": 0.01, "log": True}]},
    "TrainSpec.class_weight": {"examples": ["balanced", {"choices": ["none", "balanced"]}, {"0": 1.0, "1": 3.0}]},
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file: every section, field, type, default, range and description."""
    raw = Spec.model_json_schema(mode="validation")
    defs: dict[str, Any] = raw.pop("$defs")
    choices = {name: defs.pop(name) for name in list(defs) if name.startswith("Choices_")}
    raw, defs = _inline(raw, choices), _inline(defs, choices)
    for model in _models(Spec):
        properties = defs[model.__name__]["properties"] if model is not Spec else raw["properties"]
        for name, (low, high) in _bounds(model).items():
            properties[name] = _bounded(properties[name], low, high)
        for name, prop in properties.items():
            rule = _RULES.get(f"{model.__name__}.{name}")
            if rule is not None:
                _apply(prop, rule)
            if "$ref" in prop:  # a section: its own defaults are listed field by field
                prop.pop("default", None)
    _apply(defs["BackboneSpec"]["properties"]["freeze"], {"freeze": True})
    body = _clean({key: value for key, value in raw.items() if key not in ("title", "description")})
    return {
        "$schema": DIALECT,
        "title": "cnnsearch spec",
        "description": "A cnnsearch search spec (TOML), generated from cnnsearch.spec's models (`cnnsearch schema`).",
        **body,
        "$defs": _clean(defs),
    }


def json_schema_text() -> str:
    """:func:`json_schema` as the text of ``spec.schema.json`` (stable key order, a final newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every section model under it, each once, in field order."""
    found = [model]
    for field in model.model_fields.values():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(m for m in _models(annotation) if m not in found)
    return found


def _bounds(model: type[BaseModel]) -> dict[str, tuple[float, float]]:
    """A section's ``_bounds`` (a pydantic private attribute: its default holds the table)."""
    private = model.__private_attributes__.get("_bounds")
    bounds = getattr(private, "default", None)
    return bounds if isinstance(bounds, dict) else {}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace references to ``defs`` with their content (the small ``{choices = [...]}`` tables)."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        name = ref.removeprefix("#/$defs/")
        if name in defs:
            return _inline(copy.deepcopy(defs[name]), defs) | {k: v for k, v in node.items() if k != "$ref"}
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _bounded(prop: dict[str, Any], low: float, high: float) -> dict[str, Any]:
    """A section's ``_bounds`` on one field: its constant, each of its choices and its range's ends."""
    limits = {"minimum": low, "maximum": high}
    prop = copy.deepcopy(prop)
    for branch in prop.get("oneOf", [prop]):
        if branch.get("type") in ("integer", "number"):
            branch.update(limits)
        elif "choices" in branch.get("properties", {}):
            branch["properties"]["choices"]["items"].update(limits)
        elif "$ref" in branch:  # IntRange / FloatRange: both ends within the bounds
            ref = branch.pop("$ref")
            branch.update({"allOf": [{"$ref": ref}], "properties": {"low": limits, "high": limits}})
    return prop


def _apply(prop: dict[str, Any], rule: dict[str, Any]) -> None:
    """One field's rule: a replacement type (``oneOf``/``anyOf``), extra keywords, or the freeze type."""
    if rule.get("freeze"):
        constant, choices = prop["oneOf"]
        constant.clear()
        constant.update(_FREEZE)
        choices["properties"]["choices"]["items"] = copy.deepcopy(_FREEZE)
        return
    if "oneOf" in rule or "anyOf" in rule:
        for key in ("anyOf", "oneOf", "type"):
            prop.pop(key, None)
    target = prop
    if "anyOf" in prop and len(prop["anyOf"]) == 2 and {"type": "null"} in prop["anyOf"]:
        target = next(branch for branch in prop["anyOf"] if branch != {"type": "null"})  # optional: rule the value
    for key, value in rule.items():
        if key in ("examples", "oneOf", "anyOf"):
            prop[key] = value
        elif key == "items":
            target.setdefault("items", {}).update(value)
        else:
            target[key] = value


def _clean(node: Any) -> Any:
    """No ``title`` (pydantic's field names in Title Case), no ``null`` (TOML has none), short refs."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if isinstance(node.get("title"), str):
        del node["title"]
    if "default" in node and node["default"] is None:
        del node["default"]
    if isinstance(node.get("default"), dict):
        node["default"] = {k: v for k, v in node["default"].items() if v is not None}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1:
            node = rest[0] | node
        else:
            node["anyOf"] = rest
    return {key: (_clean(value) if key != "properties" else _clean_properties(value)) for key, value in node.items()}


def _clean_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """Field names are keys here, not keywords: clean each field's schema, keep every name."""
    return {name: _clean(prop) for name, prop in properties.items()}
