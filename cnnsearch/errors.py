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
