"""Domain errors and ``first_line``, which turns any exception into one readable line."""

from __future__ import annotations

import pytest

from cnnsearch.errors import CnnsearchError, DataError, SpecError, TrialFailed, first_line


class BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


@pytest.mark.parametrize(
    ("given", "line"),
    [
        (ValueError("one line"), "one line"),
        (ValueError("\n\n   first real line  \nsecond line\n"), "first real line"),  # blank lines skipped, stripped
        (KeyError("missing"), "'missing'"),  # str(KeyError) quotes its key
        (RuntimeError(), ""),  # no message at all
        (OSError("   \n\t\n"), ""),  # only whitespace
        ("a text\nand more", "a text"),  # a plain string works too
        ("", ""),
    ],
)
def test_first_line(given: BaseException | str, line: str) -> None:
    assert first_line(given) == line


def test_first_line_never_raises_even_when_str_does() -> None:
    error = BrokenStr("hidden")
    with pytest.raises(RuntimeError, match="__str__ itself fails"):
        str(error)
    assert first_line(error) == ""


def test_every_domain_error_is_a_cnnsearch_error() -> None:
    for kind in (SpecError, DataError, TrialFailed):
        assert issubclass(kind, CnnsearchError)
        with pytest.raises(CnnsearchError, match="^what to fix$"):
            raise kind("what to fix")
    assert not issubclass(CnnsearchError, (ValueError, RuntimeError))  # callers catch it, not by accident
