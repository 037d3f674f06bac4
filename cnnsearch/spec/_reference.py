"""The spec reference (Markdown), generated from the JSON Schema and so from the pydantic models.

The docs site builds its spec-reference page from :func:`reference_markdown` (an MkDocs hook), so
each field's type, default, range and description are written once, in the models. For the
fields that become trial params it adds when they apply (``_conditions.active``): a residual
field only in residual trials, ``momentum`` only with SGD, and so on.
"""

from __future__ import annotations

import itertools
from typing import Any, get_args

from cnnsearch.spec._conditions import COMPILE_PARAMS, NOT_PARAMS, TUNED_SECTIONS, active
from cnnsearch.spec._dumping import _toml_value
from cnnsearch.spec._json_schema import DURATION_PATTERN, json_schema
from cnnsearch.spec._types import Architecture, Optimizer, Schedule

#: The values of the params that other params depend on (``_conditions.active``).
_PARENTS = {
    "architecture": get_args(Architecture),
    "optimizer": get_args(Optimizer),
    "lr_schedule": get_args(Schedule),
}
_TUNABLE = "[tunable](#tunable-values)"


def reference_markdown() -> str:
    """Every section of a spec as a Markdown table: field, type, default, allowed values, when, description."""
    schema = json_schema()
    defs = schema["$defs"]
    parts = [_tunable_section(defs)]
    for path, prop in _sections(schema["properties"], defs, ""):
        parts.append(_section_table(path, prop, defs))
    parts.append(_objectives_section(defs["ObjectiveSpec"]))
    return "\n".join(parts)


def section_fields() -> dict[str, list[str]]:
    """Each section's path (``model.residual``) and its fields, as the reference lists them."""
    schema = json_schema()
    defs = schema["$defs"]
    return {
        path: [name for name, field in _definition(prop, defs)["properties"].items() if not _is_section(field, defs)]
        for path, prop in _sections(schema["properties"], defs, "")
    }


def _sections(properties: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """(``section.path``, its schema) for every table of the spec, sub-tables after their parent."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, prop in properties.items():
        if _is_section(prop, defs):
            path = f"{prefix}{name}"
            found.append((path, prop))
            found.extend(_sections(_definition(prop, defs)["properties"], defs, f"{path}."))
    return found


def _is_section(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    return prop.get("$ref", "").removeprefix("#/$defs/").endswith("Spec") and "ObjectiveSpec" not in prop["$ref"]


def _definition(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    return defs[prop["$ref"].removeprefix("#/$defs/")]


def _section_table(path: str, prop: dict[str, Any], defs: dict[str, Any]) -> str:
    definition = _definition(prop, defs)
    tuned = path.split(".")[0] in TUNED_SECTIONS
    lines = [f"## `[{path}]`", "", _cell(definition.get("description", prop.get("description", ""))), ""]
    if path.startswith("model"):
        lines += ["With `model.hypermodel` set, the hypermodel builds the whole network and none of these apply.", ""]
    header = ["field", "type", "default", "allowed", *(["applies to"] if tuned else []), "description"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    required = set(definition.get("required", []))
    for name, field in definition["properties"].items():
        if _is_section(field, defs):
            continue
        row = [f"`{name}`", _type(field), _default(field, name in required), _allowed(field)]
        if tuned:
            row.append(_applies(path, name))
        row.append(_cell(field.get("description", "")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _tunable_section(defs: dict[str, Any]) -> str:
    """What a tunable field takes besides a constant: a range or a list of choices."""
    lines = [
        "## Tunable values",
        "",
        "A field marked tunable takes a constant (`blocks = 3`), a range (`blocks = { low = 2, high = 4 }`) "
        "or a list of choices (`filters = { choices = [16, 32, 64] }`). Its allowed values apply to the "
        "constant, to both ends of a range and to every choice.",
        "",
        "| form | key | type | default | description |",
        "|---|---|---|---|---|",
    ]
    for form, definition in (("integer range", defs["IntRange"]), ("float range", defs["FloatRange"])):
        for key, field in definition["properties"].items():
            default = _default(field, key in definition.get("required", []))
            lines.append(f"| {form} | `{key}` | {_type(field)} | {default} | {_cell(field.get('description', ''))} |")
    lines.append("| choices | `choices` | list | (required) | the values to choose from, at least one |")
    return "\n".join(lines) + "\n"


def _objectives_section(definition: dict[str, Any]) -> str:
    lines = [
        "## `study.objectives` items",
        "",
        "| key | type | description |",
        "|---|---|---|",
    ]
    for key, field in definition["properties"].items():
        lines.append(f"| `{key}` | {_type(field)} | {_cell(field.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def _type(field: dict[str, Any]) -> str:
    options = field.get("oneOf") or field.get("anyOf")
    if options and any(option.get("pattern") == DURATION_PATTERN for option in options):
        return 'integer (seconds) or a duration (`"1h30m"`)'
    if options and any("choices" in option.get("properties", {}) for option in options):
        return f"{_type(options[0])}, {_TUNABLE}"
    if options:
        return " or ".join(dict.fromkeys(_type(option) for option in options))
    if "enum" in field:
        return ", ".join(f"`{_toml_value(value)}`" for value in field["enum"])
    if "const" in field:
        return f"`{_toml_value(field['const'])}`"
    ref = field.get("$ref", "")
    if ref:
        return {"ObjectiveSpec": "table"}.get(ref.removeprefix("#/$defs/"), "table")
    kind = field.get("type")
    if kind == "array":
        return f"list of {_type(field.get('items', {}))}"
    if kind == "object":
        values = field.get("additionalProperties")
        return f"table of {_type(values)}" if isinstance(values, dict) else "table"
    return {"integer": "integer", "number": "float", "string": "string", "boolean": "boolean"}.get(kind or "", "any")


def _default(field: dict[str, Any], required: bool) -> str:
    if required:
        return "(required)"
    if "default" not in field:
        return "none"
    value = field["default"]
    if isinstance(value, dict):  # a range: leave out the keys at their own defaults
        value = {k: v for k, v in value.items() if not (k == "step" and v == 1) and not (k == "log" and v is False)}
    if value in ([], {}):
        return "empty"
    return f"`{_toml_value(value)}`"


def _allowed(field: dict[str, Any]) -> str:
    """The bounds on a value (its constant's, for a tunable field), its pattern or its length."""
    options = field.get("oneOf") or field.get("anyOf") or []
    texts = [_limits(field)] + [_limits(option) for option in options]
    items = field.get("items")
    if isinstance(items, dict):
        texts.append(_limits(items) and f"each {_limits(items)}")
    if "minItems" in field and field.get("minItems") == field.get("maxItems"):
        texts.append(f"{field['minItems']} items")
    text = "; ".join(dict.fromkeys(t for t in texts if t))
    return text or ""


def _limits(field: dict[str, Any]) -> str:
    low = field.get("minimum", field.get("exclusiveMinimum"))
    high = field.get("maximum", field.get("exclusiveMaximum"))
    strict_low, strict_high = "exclusiveMinimum" in field, "exclusiveMaximum" in field
    if low is not None and high is not None:
        if not strict_low and not strict_high:
            return f"{_number(low)} to {_number(high)}"
        return f"{'>' if strict_low else '>='} {_number(low)}, {'<' if strict_high else '<='} {_number(high)}"
    if low is not None:
        return f"{'>' if strict_low else '>='} {_number(low)}"
    if high is not None:
        return f"{'<' if strict_high else '<='} {_number(high)}"
    return ""


def _number(value: float) -> str:
    if abs(value) >= 10_000 and float(value).is_integer():
        return f"{int(value):,}"
    return repr(value)


def _applies(path: str, name: str) -> str:
    """When a field becomes a trial param: always, or only for some architecture, optimizer or schedule."""
    section, _, sub = path.partition(".")
    param = f"{sub}_{name}" if sub else name
    if section == "model" and name in NOT_PARAMS:
        return "replaces the network"
    combos = [dict(zip(_PARENTS, values)) for values in itertools.product(*_PARENTS.values())]
    on = [combo for combo in combos if active(param, combo)]
    conditions = []
    for parent, values in _PARENTS.items():
        chosen = [value for value in values if any(combo[parent] == value for combo in on)]
        if len(chosen) < len(values):
            conditions.append(f"{parent} = " + " or ".join(f"`{value}`" for value in chosen))
    text = "; ".join(conditions) or "every trial"
    if param in COMPILE_PARAMS:
        text += " (not with a compiling hypermodel)"
    return text


def _cell(text: str) -> str:
    """A description as one Markdown table cell: pipes, stars and angle brackets kept literal."""
    return text.replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;").replace("\n", " ")
