"""The Typer app in process (CliRunner): help, ``validate``, and one ``error:`` line for every user error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cnnsearch.spec import load_spec, spec_to_dict
from tests.conftest import Invoke
from tests.helpers import SpecFile

REPO = Path(__file__).resolve().parents[2]
GOOD = '[data]\ndataset = "digits"\n'


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_override_names_set(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = invoke("validate", str(path), "--set", "study.n_trials=many")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --set: study.n_trials: expected an integer, got 'many'"
    result = invoke("validate", str(path), "--set", "n_trials")
    assert result.exit_code == 1
    assert "expected SECTION.KEY=VALUE" in result.stderr


def test_missing_spec_file(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "no such spec file" in result.stderr


def test_validate_prints_resolved_spec(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(write(tmp_path, GOOD)), "--set", "study.n_trials=4")
    assert result.exit_code == 0
    assert "n_trials = 4" in result.stdout
    assert "[augment]" in result.stdout and 'flip = "none"' in result.stdout


def test_help_lists_every_user_command_and_hides_the_worker(invoke: Invoke) -> None:
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


def test_validate_the_shipped_digits_spec(invoke: Invoke, tmp_path: Path) -> None:
    path = REPO / "search_spaces" / "digits.toml"
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # What it prints is the resolved spec: written back, it loads to the same Spec.
    resolved = write(tmp_path, result.stdout, "digits.toml")
    assert load_spec(resolved) == load_spec(path)
    as_json = invoke("validate", str(path), "--format", "json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == spec_to_dict(load_spec(path))


def test_a_bad_set_is_exit_1_and_one_error_line(invoke: Invoke) -> None:
    path = REPO / "search_spaces" / "digits.toml"
    line = invoke.error_line("validate", str(path), "--set", "study.sampler=annealing")
    assert line.startswith("error: --set: study.sampler: ") and "'annealing'" in line
    line = invoke.error_line("run", str(path), "--set", "train.epochs=0")  # before any data or training
    assert line == "error: --set: train.epochs: input should be greater than 0, got 0"


def test_an_output_folder_without_export_is_an_error_before_anything_loads(invoke: Invoke, tmp_path: Path) -> None:
    line = invoke.error_line("best", str(tmp_path / "never-read.toml"), "somewhere")
    assert line == "error: 'somewhere': an output folder needs --export (cnnsearch best SPEC --export DIR)"


# --- output of trials, best and --version, on a real study with recorded trials (no training) ---------


@pytest.fixture
def recorded(workdir: Path, tiny_spec_file: SpecFile) -> Path:
    """The tiny spec's study with two complete trials; trial 1 (the best) has no ``dense_units``."""
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    from cnnsearch.search import open_study
    from cnnsearch.spec import load_spec

    path = tiny_spec_file()
    study = open_study(load_spec(path))
    for value, params in (
        (0.5, {"blocks": 1, "dense_units": 32, "learning_rate": 0.01}),
        (0.98765, {"blocks": 2, "learning_rate": 0.0023145373287461373}),
    ):
        distributions = {
            "blocks": IntDistribution(1, 2),
            "dense_units": IntDistribution(0, 32),
            "learning_rate": FloatDistribution(1e-3, 1e-2, log=True),
        }
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                value=value,
                params=params,
                distributions={k: distributions[k] for k in params},
            )
        )
    return path


def test_trials_json_and_csv_keep_integer_params_integers(invoke: Invoke, recorded: Path) -> None:
    rows = json.loads(invoke("trials", str(recorded), "--format", "json").stdout)
    assert [row["params.blocks"] for row in rows] == [1, 2]
    assert [row["params.dense_units"] for row in rows] == [32, None]  # a gap, not NaN or 32.0
    assert rows[1]["params.learning_rate"] == 0.0023145373287461373  # exact: pandas' to_json keeps 15 digits
    header, first, second = invoke("trials", str(recorded), "--format", "csv").stdout.splitlines()
    columns = header.split(",")
    assert first.split(",")[columns.index("params.blocks")] == "1"
    assert first.split(",")[columns.index("params.dense_units")] == "32"
    assert second.split(",")[columns.index("params.dense_units")] == ""


def test_trials_prints_one_line_per_trial_and_wide_every_column(
    invoke: Invoke, recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    lines = invoke("trials", str(recorded)).stdout.splitlines()
    assert lines[:4] == [
        "Trials of 'tiny'",
        "trial  state      value  secs  blocks",
        "    0  COMPLETE     0.5             1",
        "    1  COMPLETE  0.9877             2",
    ]
    assert lines[4:] == ["not shown (--wide): dense_units,", "learning_rate"]
    wide = invoke("trials", str(recorded), "--wide").stdout.splitlines()
    assert wide[1].split() == ["trial", "state", "value", "secs", "blocks", "dense_units", "learning_rate"]
    assert wide[3].split() == ["1", "COMPLETE", "0.9877", "2", "0.002315"] and len(wide) == 4


def test_best_rounds_like_trials_and_says_it_was_not_exported(invoke: Invoke, recorded: Path) -> None:
    result = invoke("best", str(recorded))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "best trial  1  (val_accuracy = 0.9877, maximize)" in lines
    assert "  learning_rate          0.002315" in lines
    assert "exported    no (cnnsearch best SPEC --export)" in lines


def test_best_says_where_its_trial_was_exported(invoke: Invoke, recorded: Path, workdir: Path) -> None:
    card: dict[str, dict[str, Any]] = {
        "search": {"trial": 1},
        "test": {"accuracy": 0.971},
        "mlflow": {"registered_model": "tiny", "version": "2"},
    }
    (workdir / "exports" / "tiny").mkdir(parents=True)
    (workdir / "exports" / "tiny" / "model_card.json").write_text(json.dumps(card))
    lines = invoke("best", str(recorded)).stdout.splitlines()
    assert "exported    yes, exports/tiny/ (test accuracy 0.9710, MLflow model 'tiny' version 2)" in lines
    record = json.loads(invoke("best", str(recorded), "--format", "json").stdout)
    assert record["exported"]["this_trial"] is True and record["exported"]["test_accuracy"] == 0.971

    card["search"]["trial"] = 0  # an older export, of another trial
    (workdir / "exports" / "tiny" / "model_card.json").write_text(json.dumps(card))
    lines = invoke("best", str(recorded)).stdout.splitlines()
    assert "exported    no: exports/tiny/ holds trial 0 (test accuracy 0.9710)" in lines


def test_best_leads_with_the_balanced_figures_of_a_skewed_export(invoke: Invoke, recorded: Path, workdir: Path) -> None:
    test = {"accuracy": 0.8, "balanced_accuracy": 0.61, "macro_f1": 0.6, "lead": "balanced_accuracy"}
    card = {"search": {"trial": 1}, "test": test, "mlflow": {"registered_model": "tiny", "version": "2"}}
    (workdir / "exports" / "tiny").mkdir(parents=True)
    (workdir / "exports" / "tiny" / "model_card.json").write_text(json.dumps(card))
    lines = invoke("best", str(recorded)).stdout.splitlines()
    expected = "test balanced accuracy 0.6100, macro F1 0.6000, accuracy 0.8000, MLflow model 'tiny' version 2"
    assert f"exported    yes, exports/tiny/ ({expected})" in lines


def test_best_reads_what_auto_settled_on_from_the_study(invoke: Invoke, recorded: Path) -> None:
    """The study was opened with its metric (as ``run`` opens it once "auto" is settled): ``best`` shows that."""
    result = invoke("best", str(recorded), "--set", "study.metric=auto")
    assert result.exit_code == 0, result.output
    assert "best trial  1  (val_accuracy = 0.9877, maximize)" in result.stdout.splitlines()


def test_version_prints_the_version(invoke: Invoke) -> None:
    from cnnsearch import __version__

    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"cnnsearch {__version__}\n"
