"""A resolved spec written back out: plain data (JSON, MLflow) or TOML that loads again."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from cnnsearch.spec._schema import Spec
from cnnsearch.spec._types import _Section


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The resolved spec as plain data (ranges and choices as tables), for JSON/TOML/MLflow."""
    return spec.model_dump(mode="json", exclude_none=True)


def spec_to_toml(spec: Spec) -> str:
    """The resolved spec as TOML, loadable again with load_spec."""
    lines: list[str] = []
    for section, table in spec_to_dict(spec).items():
        _toml_table(lines, section, table, getattr(spec, section))
    return "\n".join(lines)


def _toml_table(lines: list[str], name: str, table: dict[str, Any], model: BaseModel) -> None:
    """One [table], its sub-sections (``[model.residual]``) after its own keys."""
    lines.append(f"[{name}]")
    subtables = [key for key in table if isinstance(getattr(model, key, None), _Section)]
    lines.extend(f"{_toml_key(key)} = {_toml_value(value)}" for key, value in table.items() if key not in subtables)
    lines.append("")
    for key in subtables:
        _toml_table(lines, f"{name}.{key}", table[key], getattr(model, key))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
