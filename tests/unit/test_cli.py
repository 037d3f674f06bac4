"""The Typer app in process (CliRunner): help, ``validate``, and one ``error:`` line for every user error."""

from __future__ import annotations

import json
from pathlib import Path

from cnnsearch.spec import load_spec, spec_to_dict

REPO = Path(__file__).resolve().parents[2]
GOOD = '[data]\ndataset = "digits"\n'


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_override_names_set(invoke, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = invoke("validate", str(path), "--set", "study.n_trials=many")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --set: study.n_trials: expected an integer, got 'many'"
    result = invoke("validate", str(path), "--set", "n_trials")
    assert result.exit_code == 1
    assert "expected SECTION.KEY=VALUE" in result.stderr


def test_missing_spec_file(invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "no such spec file" in result.stderr


def test_validate_prints_resolved_spec(invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(write(tmp_path, GOOD)), "--set", "study.n_trials=4")
    assert result.exit_code == 0
    assert "n_trials = 4" in result.stdout
    assert "[augment]" in result.stdout and 'flip = "none"' in result.stdout


def test_help_lists_every_user_command_and_hides_the_worker(invoke) -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    assert "Declarative hyperparameter search for Keras CNNs" in result.stdout
    commands = {
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2
    }
    assert {"validate", "run", "trials", "report", "best", "predict", "ui"} <= commands
    assert "worker" not in commands  # started by `run --workers N` only
    run_help = invoke("run", "--help")
    assert run_help.exit_code == 0 and "--workers" in run_help.stdout and "--set" in run_help.stdout


def test_validate_the_shipped_digits_spec(invoke, tmp_path: Path) -> None:
    path = REPO / "search_spaces" / "digits.toml"
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # What it prints is the resolved spec: written back, it loads to the same Spec.
    resolved = write(tmp_path, result.stdout, "digits.toml")
    assert load_spec(resolved) == load_spec(path)
    as_json = invoke("validate", str(path), "--format", "json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == spec_to_dict(load_spec(path))


def test_a_bad_set_is_exit_1_and_one_error_line(invoke) -> None:
    path = REPO / "search_spaces" / "digits.toml"
    line = invoke.error_line("validate", str(path), "--set", "study.sampler=annealing")
    assert line.startswith("error: --set: study.sampler: ") and "'annealing'" in line
    line = invoke.error_line("run", str(path), "--set", "train.epochs=0")  # before any data or training
    assert line == "error: --set: train.epochs: input should be greater than 0, got 0"


def test_an_output_folder_without_export_is_an_error_before_anything_loads(invoke, tmp_path: Path) -> None:
    line = invoke.error_line("best", str(tmp_path / "never-read.toml"), "somewhere")
    assert line == "error: 'somewhere': an output folder needs --export (cnnsearch best SPEC --export DIR)"
