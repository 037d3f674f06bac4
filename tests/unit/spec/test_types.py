"""The spec's value types: durations ("90m", "1h30m") in seconds."""

from __future__ import annotations

import pytest

from cnnsearch.spec import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"), [(3600, 3600), ("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("45s", 45)]
)
def test_durations(value: int | str, seconds: int) -> None:
    assert parse_duration(value) == seconds
