"""Spec-wide rules on the raw TOML data, checked before the schema sees it.

Every field gets them, so no field can let through a value that only fails later,
inside Optuna, Keras or SQLite: tables and arrays nested absurdly deep, integers
that do not fit in 64 bits, and ``nan`` or ``inf``.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from typing import Any

#: A spec needs at most 5 levels (``model.backbone.freeze.choices[0]``); deeper is a mistake.
MAX_DEPTH = 10
#: Integers must fit in a signed 64-bit integer (SQLite, NumPy and Optuna storages hold them so).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def raw_problem(raw: dict[str, Any]) -> tuple[str, str] | None:
    """(dotted field, what is wrong) for the first value that breaks a spec-wide rule, else None.

    Iterative, so even data nested thousands deep (from ``--set``) cannot overflow the stack.
    """
    stack: list[tuple[str, Any, int]] = [("", raw, 0)]
    while stack:
        field, value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                return field, f"nested too deep (more than {MAX_DEPTH} levels of tables or arrays)"
            children = (
                [(f"{field}.{key}" if field else str(key), child) for key, child in value.items()]
                if isinstance(value, dict)
                else [(f"{field}[{index}]", child) for index, child in enumerate(value)]
            )
            stack.extend((name, child, depth + 1) for name, child in reversed(children))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
            return field, f"{show_int(value)} does not fit in 64 bits (integers must lie in -2**63 .. 2**63-1)"
        elif isinstance(value, float) and not math.isfinite(value):
            return field, f"expected a finite number, got {value}"
    return None


def show_int(value: int) -> str:
    """An integer for a one-line message: its digits, or how many there are when they would flood the line."""
    digits = len(str(abs(value)))
    return str(value) if digits <= 24 else f"an integer of {digits} digits"


def path_kind(text: str) -> str:
    """'file', 'folder', 'special' (a FIFO, socket or device: reading it may block) or 'missing' for a path
    named in a spec; ValueError saying why it is no usable path.

    ``Path.exists`` raises on a NUL character or a name too long for the file system, and
    hides a symlink loop as "missing"; each becomes its own reason here.
    """
    if not text.strip():
        raise ValueError("must not be empty (leave the key out, or name a file or folder)")
    if "\0" in text:
        raise ValueError(f"{text!r} contains a NUL character")
    try:
        mode = os.stat(text).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "missing"
        if exc.errno == errno.ENAMETOOLONG:
            raise ValueError(f"'{text[:60]}...' is too long a name for the file system") from None
        if exc.errno == errno.ELOOP:
            raise ValueError(f"'{text}' is a symlink loop") from None
        raise ValueError(f"'{text}': {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "special"
