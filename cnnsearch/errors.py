"""Domain errors: each carries one readable line for the user (the CLI prints it, exit 1)."""

from __future__ import annotations


class CnnsearchError(Exception):
    """Base for errors the user can fix; the message is one line, no traceback needed."""


class SpecError(CnnsearchError):
    """The spec (file or --set override) is invalid; raised before any training."""


class DataError(CnnsearchError):
    """A dataset could not be found, read or split."""


class TrialFailed(CnnsearchError):
    """A single trial failed (NaN loss, bad hypermodel, ...); the study goes on."""


def first_line(exc: BaseException | str) -> str:
    """The first non-empty line of an exception's message (or of a text), stripped; '' if none.

    Never raises, even for an exception whose ``__str__`` does.
    """
    try:
        text = exc if isinstance(exc, str) else str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the error path
        return ""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
