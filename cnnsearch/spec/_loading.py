"""Loading a spec: TOML file -> ``--set`` overrides -> validated, frozen :class:`Spec`.

Every problem becomes one :class:`SpecError` line naming the file (or ``--set``), the
field and what was expected, before any training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib
from pydantic import ValidationError

from cnnsearch._paths import resolved
from cnnsearch.errors import SpecError
from cnnsearch.spec._conditions import grid_problem, initial_params_problem
from cnnsearch.spec._messages import format_error
from cnnsearch.spec._references import load_build_function
from cnnsearch.spec._schema import Spec


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Spec:
    """Read, override and validate a spec file; raise SpecError with one line on any problem."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    _resolve_paths(raw, base=path.parent)
    overridden = apply_overrides(raw, overrides)
    raw.setdefault("study", {}).setdefault("name", path.stem)
    if isinstance(raw["study"], dict) and not raw["study"].get("name"):
        raw["study"]["name"] = path.stem
    return validate_spec(raw, source=str(path), overridden=overridden)


def validate_spec(
    raw: dict[str, Any], source: str = "<spec>", overridden: frozenset[str] | set[str] = frozenset()
) -> Spec:
    """Validate a raw dict (as read from TOML) into a Spec, or raise a one-line SpecError."""
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_error(exc, source, overridden)) from None
    if spec.study.sampler == "grid":
        problem = grid_problem(spec)
        if problem:
            raise SpecError(f"{source}: {problem}")
    if not spec.tracking.experiment:
        spec = spec.model_copy(update={"tracking": spec.tracking.model_copy(update={"experiment": spec.study.name})})
    if spec.study.initial_params:
        problem = initial_params_problem(spec)
        if problem:
            raise SpecError(f"{source}: study.initial_params.{problem}")
    if spec.model.hypermodel is not None:
        try:
            load_build_function(spec.model.hypermodel)  # a bad reference stops here, before any training
        except SpecError as exc:
            raise SpecError(f"{source}: model.hypermodel: {exc}") from None
    return spec


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    """Relative paths written in a spec file are relative to that file, not the cwd."""
    data = raw.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = str(resolved(base / Path(data["path"]).expanduser()))
    backbone = raw.get("model", {}).get("backbone") if isinstance(raw.get("model"), dict) else None
    if isinstance(backbone, dict) and backbone.get("weights") not in (None, "imagenet", "none"):
        if isinstance(backbone["weights"], str):
            backbone["weights"] = str(resolved(base / Path(backbone["weights"]).expanduser()))
    model = raw.get("model")
    if isinstance(model, dict) and isinstance(model.get("hypermodel"), str):
        file, sep, function = model["hypermodel"].rpartition(":")
        if sep and file.endswith(".py"):
            model["hypermodel"] = f"{resolved(base / Path(file).expanduser())}:{function}"


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> set[str]:
    """Apply ``section.key=value`` overrides in place; values parse as TOML, else as strings.

    Returns the dotted keys that were overridden, so errors can point at ``--set``.
    """
    done: set[str] = set()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(parts):
            raise SpecError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. study.n_trials=5")
        value = _parse_value(text.strip())
        if (
            key in ("data.path", "model.backbone.weights")
            and isinstance(value, str)
            and value not in ("imagenet", "none")
        ):
            value = str(resolved(value))
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {item!r}: '{part}' is not a table")
            node = child
        node[parts[-1]] = value
        done.add(key)
    return done


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
