"""The spec's value types: durations ("90m", "1h30m") in seconds, more than 0 and at most a year."""

from __future__ import annotations

import pytest

from cnnsearch.spec import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"), [(3600, 3600), ("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("45s", 45)]
)
def test_durations(value: int | str, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [0, "0s", "0h0m", -5, 365 * 24 * 3600 + 1, "8761h", "9" * 5000 + "h"])
def test_zero_or_absurd_durations_are_refused(value: int | str) -> None:
    """``"0s"`` would mean no limit at all (Optuna's timeout=0), as ``0`` is refused: both are, alike."""
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)
