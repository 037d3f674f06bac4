"""Loading a spec: TOML file -> ``--set`` overrides -> validated, frozen :class:`Spec`.

Every problem becomes one :class:`SpecError` line naming the file (or ``--set``), the
field and what was expected, before any training starts.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import tomllib
from pydantic import ValidationError

from cnnsearch.errors import SpecError, first_line
from cnnsearch.spec._bounds import network_problem
from cnnsearch.spec._conditions import grid_problem, initial_params_problem
from cnnsearch.spec._limits import MAX_DEPTH, path_kind, raw_problem
from cnnsearch.spec._messages import format_error, origin
from cnnsearch.spec._references import load_build_function
from cnnsearch.spec._schema import Spec


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Spec:
    """Read, override and validate a spec file; raise SpecError with one line on any problem."""
    path = Path(path)
    raw = _loads(_read(path), str(path))
    _resolve_paths(raw, base=path.parent)
    overridden = apply_overrides(raw, overrides)
    study = raw.setdefault("study", {})
    if isinstance(study, dict) and study.get("name") in (None, ""):
        study["name"] = path.stem  # a study that is no table is the schema's to report
    return validate_spec(raw, source=str(path), overridden=overridden)


def _read(path: Path) -> str:
    """The spec file's text; a name the file system refuses (NUL, too long, a loop) is one line too."""
    try:
        kind = path_kind(str(path))
    except ValueError as exc:  # a NUL, a name too long, a symlink loop
        raise SpecError(f"{_short(str(path))}: cannot read the spec file ({exc})") from None
    if kind == "special":
        raise SpecError(f"{path}: not a regular file (a FIFO, socket or device); expected a spec file (TOML)")
    if kind != "file":
        raise SpecError(f"{path}: no such spec file" + (" (it is a folder)" if kind == "folder" else ""))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
        raise SpecError(f"{_short(str(path))}: cannot read the spec file ({reason})") from None


def _loads(text: str, where: str, numbered: bool = True) -> dict[str, Any]:
    """TOML text -> data; whatever the parser chokes on is one line naming ``where``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise SpecError(
            f"{where}: invalid TOML: arrays or inline tables nested too deep (a spec needs fewer than {MAX_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # int() refuses more digits than sys.get_int_max_str_digits()
        raise SpecError(f"{where}: invalid TOML: {_huge_integer(text, numbered) or first_line(exc)}") from None


def _huge_integer(text: str, numbered: bool) -> str | None:
    """Where the integer too long for Python's int() is, and how long it is."""
    limit = sys.get_int_max_str_digits()
    match = re.search(rf"\d[\d_]{{{limit},}}", text) if limit else None
    if match is None:
        return None
    line = f"line {text.count(chr(10), 0, match.start()) + 1}: " if numbered else ""
    digits = len(match.group().replace("_", ""))
    return f"{line}an integer of {digits} digits (integers must fit in 64 bits: -2**63 .. 2**63-1)"


def validate_spec(
    raw: dict[str, Any], source: str = "<spec>", overridden: frozenset[str] | set[str] = frozenset()
) -> Spec:
    """Validate a raw dict (as read from TOML) into a Spec, or raise a one-line SpecError."""
    shape = raw_problem(raw)  # before pydantic: it would recurse into any depth, and overflow
    if shape:
        field, message = shape
        raise SpecError(f"{origin(field, source, overridden)}: {field}: {message}")
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_error(exc, source, overridden)) from None
    if not spec.tracking.experiment:
        spec = spec.model_copy(update={"tracking": spec.tracking.model_copy(update={"experiment": spec.study.name})})
    problem = (
        (grid_problem(spec) if spec.study.sampler == "grid" else None)
        or (_prefixed("study.initial_params.", initial_params_problem(spec)) if spec.study.initial_params else None)
        or network_problem(spec)
    )
    if problem:
        field = problem.partition(":")[0]
        raise SpecError(f"{origin(field, source, overridden)}: {problem}")
    if spec.model.hypermodel is not None:
        try:
            load_build_function(spec.model.hypermodel)  # a bad reference stops here, before any training
        except SpecError as exc:
            raise SpecError(f"{source}: model.hypermodel: {exc}") from None
    return spec


def _prefixed(prefix: str, problem: str | None) -> str | None:
    return prefix + problem if problem else None


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    """Relative paths written in a spec file are relative to that file, not the cwd.

    An empty path is left as it is, for the schema to refuse (it would mean the spec's folder).
    """
    data = raw.get("data")
    if isinstance(data, dict) and _is_path(data.get("path")):
        data["path"] = _absolute(data["path"], base)
    model = raw.get("model")
    backbone = model.get("backbone") if isinstance(model, dict) else None
    if isinstance(backbone, dict) and _is_path(backbone.get("weights")):
        backbone["weights"] = _absolute(backbone["weights"], base)
    if isinstance(model, dict) and isinstance(model.get("hypermodel"), str):
        file, sep, function = model["hypermodel"].rpartition(":")
        if sep and file.endswith(".py"):
            model["hypermodel"] = f"{_absolute(file, base)}:{function}"
    study = raw.get("study")
    if isinstance(study, dict) and _is_journal(study.get("storage")):
        study["storage"] = _absolute(study["storage"], base)


def _is_path(value: Any) -> bool:
    """A non-empty string that is no keyword (``weights = "imagenet"`` or ``"none"``)."""
    return isinstance(value, str) and bool(value.strip()) and value not in ("imagenet", "none")


def _is_journal(value: Any) -> bool:
    """A journal file path, not a database URL (``scheme://...``)."""
    return isinstance(value, str) and value.endswith(".journal") and "://" not in value


def _absolute(value: str, base: Path) -> str:
    """``value`` as an absolute path, from ``base``; a path the file system refuses stays for the schema to name."""
    path = base / Path(value).expanduser()
    try:
        return str(path.resolve())
    except (OSError, RuntimeError, ValueError):  # NUL, a name too long, a symlink loop
        return os.path.abspath(path)


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> set[str]:
    """Apply ``section.key=value`` overrides in place; values parse as TOML, else as strings.

    Returns the dotted keys that were overridden, so errors can point at ``--set``.
    Relative paths on the command line are relative to the current folder.
    """
    done: set[str] = set()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(parts):
            raise SpecError(f"--set {_short(item)!r}: expected SECTION.KEY=VALUE, e.g. study.n_trials=5")
        value = _parse_value(text.strip(), key)
        if key in ("data.path", "model.backbone.weights") and _is_path(value):
            value = _absolute(value, Path.cwd())
        if key == "study.storage" and _is_journal(value):
            value = _absolute(value, Path.cwd())
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {_short(item)!r}: '{part}' is not a table")
            node = child
        node[parts[-1]] = value
        done.add(key)
    return done


def _parse_value(text: str, key: str) -> Any:
    """A ``--set`` value as TOML, else the text itself; TOML that Python cannot hold is an error."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except (RecursionError, ValueError):
        _loads(f"v = {text}", f"--set {key}", numbered=False)  # raises the same one line as a spec file would
        raise


def _short(text: str, limit: int = 80) -> str:
    """A long user-given text cut for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
