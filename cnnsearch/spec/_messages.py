"""Pydantic validation errors -> one readable line: ``FILE: FIELD: what was expected``."""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cnnsearch.spec._schema import Spec

_TAGS = {"constant", "range", "choices", "explicit"}


def format_error(exc: ValidationError, source: str, overridden: frozenset[str] | set[str]) -> str:
    """The first validation error as one line: ``FILE: FIELD: what was expected``.

    Unknown keys are reported first: a typo explains the "missing" errors it causes.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = _field_path(first["loc"])
    message = _message(dict(first))
    # A model_validator's message "name: ..." names the field it is about ("objectives[1].metric: ..." too).
    named = re.match(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)*): ", message)
    if named and first["type"] == "value_error":
        loc, message = loc + re.findall(r"\[\d+\]|[a-z_]+", named.group(1)), message[named.end() :]
    field = ".".join(loc).replace(".[", "[")
    where = origin(field, source, overridden)
    if first["type"] == "extra_forbidden":
        line = f"{where}: unknown key '{field}'{_suggestion(loc)}"
    elif first["type"] == "missing":
        line = f"{where}: missing required key '{field}'"
    else:
        line = f"{where}: {field}: {message}" if field else f"{where}: {message}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def origin(field: str, source: str, overridden: frozenset[str] | set[str]) -> str:
    """``--set`` when that field (or a table above it) came from an override, else the spec file.

    A problem with a whole table (the network a ``[model]`` can draw) that ``--set`` changed part of
    names both: ``spec.toml (with --set)``.
    """
    for key in overridden:
        if field == key or field.startswith(key + ".") or field.startswith(key + "["):
            return "--set"
    if field and any(key.startswith(field + ".") for key in overridden):
        return f"{source} (with --set)"
    return source


def _field_path(loc: tuple[Any, ...]) -> list[str]:
    """Dotted field names from a pydantic loc, without the union's tag (once) and with [i] indexes."""
    parts: list[str] = []
    tag_dropped = False
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _TAGS and not tag_dropped and parts:
            tag_dropped = True
        elif not str(item).startswith(("Choices[", "function-")):
            parts.append(str(item))
    return parts


def _message(error: dict[str, Any]) -> str:
    kind, got = error["type"], _Shown(error.get("input"))
    expected = {
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "model_type": "a table",
        "dict_type": "a table",
    }.get(kind)
    if expected:
        return f"expected {expected}, got {got!r}"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {got!r}"
    if kind == "too_short" and error["loc"] and error["loc"][-1] == "choices":
        return "choices must not be empty"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "union_tag_invalid":
        forms = "a constant or { choices = [...] }"
        if "range" in error["ctx"]["expected_tags"]:
            forms = "a constant, { low = ..., high = ... } or { choices = [...] }"
        return f"expected {forms}, got {got!r}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {got!r}"


class _Shown:
    """A user's value for a message: its repr, cut short (a whole table or a long string would flood the line)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= 80 else text[:77] + "..."


def _suggestion(loc: list[str]) -> str:
    """'did you mean ...' for a mistyped key, from the fields of the enclosing section."""
    model: type[BaseModel] = Spec
    for part in loc[:-1]:
        if part.startswith("["):
            continue  # an item of a list of tables (study.objectives[1]): the list's item model
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if typing.get_origin(annotation) is list and typing.get_args(annotation):
            annotation = typing.get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            # Inside a tunable's table: the keys of a range or choices.
            names = ["low", "high", "step", "log", "choices"]
            break
        model = annotation
    else:
        names = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], names, n=1)
    allowed = ", ".join(names)
    return f" (did you mean '{close[0]}'?)" if close else f" (allowed: {allowed})"
