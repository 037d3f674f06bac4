"""``module:function`` references in a spec, resolved to the function they name.

``[model] hypermodel = "pkg.module:build"`` or ``"/abs/file.py:build"``: checked when
the spec loads (a bad reference stops before any training) and called by each trial.

Importing the user's module runs its code in this process. Whatever it raises,
``SystemExit`` and ``KeyboardInterrupt`` included, becomes one SpecError, unless a
real Ctrl-C arrived meanwhile. What ends the process without raising
(``os._exit``, ``os.abort``, a crash in C code) cannot be caught in-process.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from cnnsearch.errors import SpecError, first_line


def load_build_function(reference: str) -> Callable[..., Any]:
    """'pkg.module:build' or '/abs/file.py:build' -> the function; SpecError naming what is wrong."""
    target, _, name = reference.rpartition(":")
    # The user's module may print as it loads: to stderr, so `validate --format json` stays JSON.
    with _watching_ctrl_c() as interrupted, contextlib.redirect_stdout(sys.stderr):
        step = f"cannot import '{target}'"
        try:
            module = _import(target)
            step = f"cannot get '{name}' from '{target}'"  # a module's __getattr__ runs user code too
            function = getattr(module, name, None)
        except SpecError:
            raise
        except BaseException as exc:  # noqa: BLE001 - the user's module may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt) and interrupted():
                raise  # a real Ctrl-C during a slow import
            raise SpecError(f"{step} ({describe_exception(exc)})") from None
    if function is None:
        raise SpecError(f"'{target}' has no attribute '{name}'")
    if not callable(function):
        raise SpecError(f"'{target}:{name}' is not callable")
    return function


def describe_exception(exc: BaseException) -> str:
    """``Type: first line``, safe for exceptions whose ``__str__`` raises."""
    kind = type(exc).__name__
    try:
        text = first_line(exc)
    except BaseException:  # noqa: BLE001 - a __str__ that raises SystemExit, say
        text = ""
    if not text:
        try:
            str(exc)
        except BaseException:  # noqa: BLE001
            return f"{kind}, whose message cannot be shown: its __str__ fails"
    return f"{kind}: {text}" if text else kind


def _import(target: str) -> ModuleType:
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
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_name, None)  # half imported: the next load tries again
                raise
        return module
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # `module:build` next to where cnnsearch runs
    return importlib.import_module(target)


@contextlib.contextmanager
def _watching_ctrl_c() -> Iterator[Callable[[], bool]]:
    """Tell a real Ctrl-C (SIGINT arrived) from a KeyboardInterrupt the user's code raised itself."""
    seen = False
    if threading.current_thread() is not threading.main_thread():
        yield lambda: True  # no handler can be set here: take any KeyboardInterrupt for real
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler set outside Python: leave it alone
        yield lambda: True
        return

    def handle(signum: int, frame: Any) -> None:
        nonlocal seen
        seen = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handle)
    try:
        yield lambda: seen
    finally:
        signal.signal(signal.SIGINT, previous)
