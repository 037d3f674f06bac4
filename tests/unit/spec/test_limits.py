"""Spec-wide rules on the raw data: nesting depth, 64-bit integers, finite floats, usable paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnsearch.spec._limits import MAX_DEPTH, path_kind, raw_problem


def test_a_good_spec_breaks_no_rule() -> None:
    raw = {"study": {"seed": 2**63 - 1, "initial_params": {"lr": 1e-3}}, "model": {"filters": {"choices": [1, 2]}}}
    assert raw_problem(raw) is None


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"study": {"n_trials": 2**63}}, "study.n_trials", "9223372036854775808 does not fit in 64 bits"),
        ({"a": {"b": [1, -(2**63) - 1]}}, "a.b[1]", "does not fit in 64 bits"),
        ({"a": 10**100}, "a", "an integer of 101 digits"),
        ({"t": {"w": {"3": float("inf")}}}, "t.w.3", "expected a finite number, got inf"),
        ({"m": {"d": {"low": float("nan")}}}, "m.d.low", "got nan"),
    ],
)
def test_each_rule_names_the_field(raw: dict, field: str, words: str) -> None:
    problem = raw_problem(raw)
    assert problem is not None and problem[0] == field and words in problem[1]


def test_nesting_thousands_deep_is_refused_without_recursion() -> None:
    value: list = []
    for _ in range(100_000):  # far past Python's recursion limit
        value = [value]
    problem = raw_problem({"study": {"initial_params": {"a": value}}})
    assert problem is not None and f"more than {MAX_DEPTH} levels" in problem[1]
    assert raw_problem({"a": {"b": [[[[1]]]]}}) is None


def test_booleans_are_no_integers_to_bound() -> None:
    assert raw_problem({"a": True}) is None


def test_path_kinds_and_unusable_paths(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert path_kind(str(tmp_path)) == "folder"
    assert path_kind(str(tmp_path / "f")) == "file"
    assert path_kind(str(tmp_path / "missing")) == "missing"
    with pytest.raises(ValueError, match="must not be empty"):
        path_kind("")
    with pytest.raises(ValueError, match="NUL character"):
        path_kind("a\0b")
    with pytest.raises(ValueError, match="too long a name"):
        path_kind(str(tmp_path / ("a" * 300)))
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    with pytest.raises(ValueError, match="symlink loop"):
        path_kind(str(tmp_path / "loop1"))
