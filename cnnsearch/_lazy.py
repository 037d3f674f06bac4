"""Lazy public names for a subpackage: importing ``cnnsearch.search`` loads none of its modules.

Most layers hold Keras (or MLflow) code, and importing Keras costs seconds and prints
TensorFlow's start-up lines; read-only commands (``validate``, ``trials``, ``best``,
``report``) must not pay that. So a subpackage's ``__init__`` imports its public names
under ``TYPE_CHECKING`` only (what type checkers and readers see) and lists them in
``__all__``; :func:`lazy_names` reads that import block and imports a name's private
module the first time the name is used (PEP 562 ``__getattr__``).

A leaf: it imports nothing from cnnsearch.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def type_checking_imports(init_file: str | Path) -> dict[str, str]:
    """Public name -> absolute module, from the ``if TYPE_CHECKING:`` block of an ``__init__.py``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        names[alias.asname or alias.name] = statement.module
    return names


def lazy_names(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names its TYPE_CHECKING block imports."""
    where = type_checking_imports(init_file)
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
