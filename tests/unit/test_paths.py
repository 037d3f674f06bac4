"""Default file locations, derived from a study's name made safe for a file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch._paths import (
    EXPORTS,
    HOME,
    export_dir,
    logs_dir,
    mlflow_db,
    safe_name,
    study_journal,
    weights_dir,
)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("digits", "digits"),
        ("cifar10-cnn_v2.1", "cifar10-cnn_v2.1"),  # letters, digits and _.- stay
        ("my study", "my_study"),
        ("a/b\\c", "a_b_c"),  # no path separators: one file-name component
        ("../up", ".._up"),
        ("résumé:1", "r_sum__1"),  # anything outside ASCII letters and digits is replaced
        ("", ""),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe
    assert "/" not in safe_name(name) and "\\" not in safe_name(name)


def test_every_default_location_lives_under_mlruns_and_uses_the_safe_name() -> None:
    assert HOME == Path("mlruns") and EXPORTS == Path("exports")
    assert study_journal("my study") == Path("mlruns/studies/my_study.journal")
    assert weights_dir("a/b") == Path("mlruns/weights/a_b")
    assert logs_dir("a/b") == Path("mlruns/logs/a_b")
    assert mlflow_db() == Path("mlruns/mlflow.db")
    assert export_dir("tiny") == Path("exports/tiny")


def test_another_home(tmp_path: Path) -> None:
    assert study_journal("x", home=tmp_path) == tmp_path / "studies" / "x.journal"
    assert weights_dir("x", home=tmp_path) == tmp_path / "weights" / "x"
    assert logs_dir("x", home=tmp_path) == tmp_path / "logs" / "x"
    assert mlflow_db(home=tmp_path) == tmp_path / "mlflow.db"
