"""Damaged stores through the CLI as a user types it: a torn journal is repaired and the study
resumes to ``n_trials``; a corrupt one, a study that never ran, and a weights folder that
cannot be written are each one ``error:`` line, exit 1, with nothing stored changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.helpers import SpecFile

pytestmark = pytest.mark.slow

JOURNAL = Path("mlruns/studies/tiny.journal")
SET_TRIAL_STATE_VALUES = 6  # optuna.storages.journal._storage.JournalOperation
COMPLETE = 1  # optuna.trial.TrialState.COMPLETE


def _trials(cli: Cli, spec: Path, cwd: Path) -> tuple[list[dict], str]:
    result = cli("trials", str(spec), "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_a_journal_torn_in_its_last_record_resumes_to_n_trials(
    cli: Cli, tiny_spec_file: SpecFile, mlflow_store: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny_spec_file(n_trials=2, epochs=1)
    first = cli("run", str(spec), cwd=workdir)
    assert first.returncode == 0, first.stderr
    journal = workdir / JOURNAL
    data = journal.read_bytes()
    # A crash while writing the record that completes the last trial: it and all after it are lost.
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == ord("\n")][:-1]
    records = [(start, json.loads(data[start : data.index(b"\n", start)])) for start in starts]
    start, record = next(
        (s, r) for s, r in reversed(records) if r["op_code"] == SET_TRIAL_STATE_VALUES and r["state"] == COMPLETE
    )
    cut = start + (data.index(b"\n", start) - start) // 2
    journal.write_bytes(data[:cut])

    shown, note = _trials(cli, spec, workdir)  # a read-only command repairs it too (the lock is free)
    torn = sorted(journal.parent.glob("tiny.journal.torn-*"))
    assert len(torn) == 1 and torn[0].read_bytes() == data[start:cut]
    assert journal.read_bytes() == data[:start]
    lines = data[:start].count(b"\n")
    assert note.strip() == (
        f"note: {journal.resolve()}: last record was torn ({cut - start} bytes, kept in {torn[0].resolve()}); "
        f"cut back to line {lines}"
    )
    assert [t["state"] for t in shown] == ["COMPLETE", "RUNNING"]  # trial 1 lost its completion

    from cnnsearch.api import run

    capsys.readouterr()
    run(spec, progress=False)  # the resumed search, in this process (the run that tore it was the CLI's)
    assert "torn" not in capsys.readouterr().err  # repaired once, not again
    shown, note = _trials(cli, spec, workdir)
    assert note == ""
    assert [t["state"] for t in shown] == ["COMPLETE", "FAIL", "COMPLETE"]  # n_trials = 2 finished
    assert "died during the trial" in shown[1]["fail_reason"]
    assert shown[2]["params.learning_rate"] == shown[1]["params.learning_rate"]  # the torn trial, retried
    assert all(json.loads(line) for line in journal.read_bytes().splitlines())


def test_a_corrupt_journal_is_one_error_for_every_command_and_is_left_unchanged(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path
) -> None:
    spec = tiny_spec_file(n_trials=1, epochs=1)
    journal = workdir / JOURNAL
    journal.parent.mkdir(parents=True)
    journal.write_bytes(bytes(range(256)) * 16)  # random-looking bytes: no journal at all
    before = journal.read_bytes()
    for command in ("trials", "best", "report", "run"):
        line = _one_error(cli(command, str(spec), cwd=workdir))
        assert line.startswith(f"error: {journal.resolve()}: line 1 is not an Optuna journal record"), line
        assert journal.read_bytes() == before
    assert sorted(p.name for p in journal.parent.iterdir()) == ["tiny.journal"]


@pytest.mark.fresh_store  # it checks what a first run creates, or that nothing is
def test_read_only_commands_in_the_wrong_folder_create_nothing(
    cli: Cli, tiny_spec_file: SpecFile, workdir: Path, tmp_path: Path
) -> None:
    spec = tiny_spec_file(n_trials=1, epochs=1)
    for command in ("trials", "best", "report"):
        line = _one_error(cli(command, str(spec), cwd=workdir))
        assert line == "error: no study named 'tiny' yet: run `cnnsearch run` on this spec first"
    assert not (workdir / "mlruns").exists()


def test_an_unwritable_weights_folder_stops_before_the_first_trial(
    cli: Cli, tiny_spec_file: SpecFile, mlflow_store: Path, workdir: Path
) -> None:
    spec = tiny_spec_file(n_trials=3, epochs=1)
    (workdir / "mlruns" / "weights").write_text("")  # a file in its place: refuses root too, unlike chmod
    line = _one_error(cli("run", str(spec), "--set", "study.max_consecutive_failures=5", cwd=workdir))
    # `run`'s up-front checks see it first; the search's own probe (tests/unit/search/test_runner.py)
    # is the second line of defence, for a folder that breaks after the checks.
    assert line == (
        "error: 'mlruns/weights' is a file, not a folder "
        "(cnnsearch's local store, mlruns/ in the working folder: move it aside, or run elsewhere)"
    )
    assert not (workdir / JOURNAL).exists()  # no study was opened, no trial trained
