"""``module:function`` references in a spec, resolved to the function they name.

``[model] hypermodel = "pkg.module:build"`` or ``"/abs/file.py:build"``: checked when
the spec loads (a bad reference stops before any training) and called by each trial.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnsearch.errors import SpecError, first_line


def load_build_function(reference: str) -> Callable[..., Any]:
    """'pkg.module:build' or '/abs/file.py:build' -> the function; SpecError naming what is wrong."""
    target, _, name = reference.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise SpecError(f"no such file '{target}'")
            module_name = f"cnnsearch_hypermodel_{path.stem}"
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", None) != str(path):
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # `module:build` next to where cnnsearch runs
            module = importlib.import_module(target)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything on import
        raise SpecError(f"cannot import '{target}' ({type(exc).__name__}: {first_line(exc)})") from None
    function = getattr(module, name, None)
    if function is None:
        raise SpecError(f"'{target}' has no attribute '{name}'")
    if not callable(function):
        raise SpecError(f"'{target}:{name}' is not callable")
    return function
