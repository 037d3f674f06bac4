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


# --- the checks validate runs: they name the culprit and create nothing -----------------------


def test_path_problem_finds_nul_long_components_and_loops(tmp_path: Path) -> None:
    from cnnsearch._paths import path_problem

    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert path_problem(tmp_path) is None
    assert path_problem(tmp_path / "missing" / "x") is None  # missing is no malformation
    assert "NUL character" in (path_problem(f"{tmp_path}/x\x00y") or "")
    assert "300-byte component" in (path_problem(tmp_path / ("c" * 300)) or "")
    assert "256-byte component" in (path_problem("é" * 128) or "")  # bytes, not characters
    assert "symlink loop" in (path_problem(tmp_path / "a") or "")
    assert "symlink loop" in (path_problem(tmp_path / "a" / "inside") or "")


def test_name_problem_bounds_the_study_name_by_its_longest_derived_file() -> None:
    from cnnsearch._paths import MAX_NAME_BYTES, MAX_STUDY_NAME_BYTES, NAME_SUFFIX_BYTES, name_problem, study_journal

    assert name_problem("n" * MAX_STUDY_NAME_BYTES) is None
    longest = study_journal("n" * MAX_STUDY_NAME_BYTES).name + ".torn-20250101T000000.000000Z"
    assert len(longest) <= MAX_NAME_BYTES and NAME_SUFFIX_BYTES >= len(".journal.torn-20250101T000000.000000Z")
    problem = name_problem("n" * (MAX_STUDY_NAME_BYTES + 1))
    assert problem is not None and f"at most {MAX_STUDY_NAME_BYTES} characters" in problem


def test_file_and_folder_problems_name_the_parent_that_is_a_file(tmp_path: Path) -> None:
    from cnnsearch._paths import file_problem, folder_problem

    (tmp_path / "plain").write_text("x")
    assert file_problem(tmp_path / "new" / "deeper" / "x.journal") is None  # creatable
    assert file_problem(tmp_path / "plain") is None  # an existing writable file
    assert file_problem(tmp_path / "plain" / "x.journal") == f"'{tmp_path}/plain' is a file, not a folder"
    assert file_problem(tmp_path) == f"'{tmp_path}' is a folder, not a file"
    assert folder_problem(tmp_path / "plain") == f"'{tmp_path}/plain' is a file, not a folder"
    assert folder_problem(tmp_path / "plain" / "sub") == f"'{tmp_path}/plain' is a file, not a folder"
    assert folder_problem(tmp_path / "a" / "b") is None
    assert not (tmp_path / "new").exists() and not (tmp_path / "a").exists()  # nothing created


def test_sqlite_problem_reads_the_header(tmp_path: Path) -> None:
    import sqlite3

    from cnnsearch._paths import sqlite_problem

    real = tmp_path / "real.db"
    sqlite3.connect(real).execute("create table t (x)").connection.close()
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "text.db").write_text("not a database")
    assert sqlite_problem(real) is None
    assert sqlite_problem(tmp_path / "empty.db") is None  # SQLite fills an empty file
    assert sqlite_problem(tmp_path / "missing.db") is None
    assert sqlite_problem(tmp_path / "text.db") == (
        f"'{tmp_path}/text.db' is not an SQLite database (it starts with b'not a da', not b'SQLite format 3')"
    )


def test_home_problem_checks_mlruns_its_folders_and_the_mlflow_db(tmp_path: Path) -> None:
    from cnnsearch._paths import home_problem

    home = tmp_path / "mlruns"
    assert home_problem("tiny", home) is None and not home.exists()
    home.write_text("")
    assert home_problem("tiny", home) == f"'{home}' is a file, not a folder"
    home.unlink()
    (home / "weights").mkdir(parents=True)
    (home / "weights" / "tiny").write_text("")
    assert home_problem("tiny", home) == f"'{home}/weights/tiny' is a file, not a folder"
    assert home_problem("other", home) is None
    (home / "artifacts").write_text("")
    assert home_problem("other", home) == f"'{home}/artifacts' is a file, not a folder"
    (home / "artifacts").unlink()
    (home / "mlflow.db").write_text("garbage")
    assert "is not an SQLite database" in (home_problem("other", home) or "")


def test_spec_file_problem(tmp_path: Path) -> None:
    from cnnsearch._paths import spec_file_problem

    assert spec_file_problem(tmp_path / "missing.toml") is None  # the loader says "no such spec file"
    assert spec_file_problem(tmp_path) == "is a folder; expected a spec file (TOML)"
    assert "305-byte component" in (spec_file_problem(tmp_path / ("b" * 300 + ".toml")) or "")


def test_resolved_never_raises(tmp_path: Path) -> None:
    from cnnsearch._paths import resolved

    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert resolved(tmp_path / "a") == tmp_path / "a"  # a loop: absolute, unresolved, for the check to name
    assert resolved("x\x00y").is_absolute()
