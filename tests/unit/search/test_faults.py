"""Faults of the machine, told from trial failures on real failing operations (no mocks), and the
trial loop stopping at the first one instead of failing trial after trial."""

from __future__ import annotations

import resource
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from cnnsearch.search import _faults as faults
from cnnsearch.search import open_study, run_trials
from cnnsearch.spec import Spec, validate_spec


def _raised(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as exc:  # noqa: BLE001 - the error itself is what is tested
        return exc
    raise AssertionError("did not raise")


def test_a_file_where_a_folder_should_be_is_a_fault_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "weights").write_text("")
    exists = _raised(lambda: (tmp_path / "weights").mkdir(exist_ok=True))
    assert faults.infrastructure_fault(exists) == f"File exists (EEXIST): {tmp_path / 'weights'}"
    inside = _raised(lambda: (tmp_path / "weights" / "trial-0.weights.h5").write_bytes(b""))
    assert (
        faults.infrastructure_fault(inside)
        == f"Not a directory (ENOTDIR): {tmp_path / 'weights' / 'trial-0.weights.h5'}"
    )


def test_a_keras_weights_file_that_cannot_be_created_is_a_fault(tmp_path: Path) -> None:
    import h5py

    (tmp_path / "weights").write_text("")
    target = tmp_path / "weights" / "x.weights.h5"
    assert faults.infrastructure_fault(_raised(lambda: h5py.File(target, "w"))) == (
        f"Not a directory (ENOTDIR): {target}"
    )


def test_a_write_past_the_size_limit_is_a_fault(tmp_path: Path) -> None:
    """EFBIG stands in for ENOSPC: both are writes the file system refuses, made real with RLIMIT_FSIZE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        error = _raised(lambda: (tmp_path / "big").write_bytes(b"x" * 200))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert faults.infrastructure_fault(error) == "File too large (EFBIG)"


def test_a_fault_hidden_by_an_error_in_cleanup_is_still_found(tmp_path: Path) -> None:
    def cleanup_fails() -> None:
        try:
            (tmp_path / "missing" / "x").mkdir()  # FileNotFoundError: not a fault by itself
        except FileNotFoundError:
            pass
        try:
            (tmp_path / "f").write_text("")
            (tmp_path / "f").mkdir()
        except FileExistsError:
            raise RuntimeError("the run could not be closed") from None  # context still holds it

    error = _raised(cleanup_fails)
    fault = faults.infrastructure_fault(error)
    assert isinstance(error, RuntimeError) and fault is not None and fault.startswith("File exists (EEXIST)")


def test_trial_errors_and_a_locked_database_are_not_faults(tmp_path: Path) -> None:
    import sqlalchemy

    assert faults.infrastructure_fault(_raised(lambda: 1 / 0)) is None
    assert faults.infrastructure_fault(_raised(lambda: (tmp_path / "no" / "x").read_text())) is None  # ENOENT
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another worker writing right now
    waiter = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect_args={"timeout": 0}).connect()
    locked = _raised(lambda: waiter.exec_driver_sql("SELECT * FROM t"))
    holder.close()
    waiter.close()
    assert "database is locked" in str(locked) and faults.infrastructure_fault(locked) is None


def test_a_database_that_cannot_be_opened_is_a_fault(tmp_path: Path) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
    fault = faults.infrastructure_fault(_raised(engine.connect))
    assert fault is not None and fault.startswith("the study database failed (OperationalError): ")


def test_check_writable_stops_before_training_and_leaves_no_probe(tmp_path: Path) -> None:
    faults.check_writable(tmp_path / "weights" / "study", "weights")
    assert list(tmp_path.iterdir()) == []  # probed where the folder will be; nothing created or left
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # a file in place of the folder: refuses root too, unlike chmod
    with pytest.raises(faults.InfrastructureFault) as error:
        faults.check_writable(blocked / "study", "weights")
    assert str(error.value) == f"{blocked / 'study'}: cannot write weights: Not a directory (ENOTDIR): {blocked}"
    assert list(tmp_path.iterdir()) == [blocked]


def _spec(tmp_path: Path, **study: Any) -> Spec:
    study = {"name": "faults", "n_trials": 4, "storage": str(tmp_path / "f.journal"), **study}
    return validate_spec({"study": study, "data": {"dataset": "digits"}})


def test_the_trial_loop_stops_at_the_first_fault_not_after_five(tmp_path: Path) -> None:
    spec = _spec(tmp_path, max_consecutive_failures=5)
    study = open_study(spec)
    (tmp_path / "weights").write_text("")

    def objective(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        (tmp_path / "weights" / "trial.h5").write_bytes(b"")  # a trial saving its weights: ENOTDIR
        return 1.0

    with pytest.raises(faults.InfrastructureFault) as error:
        run_trials(study, objective, spec, since=0.0, tracking=None)
    assert str(error.value) == (
        "stopped at trial 0 (not the trial's fault, so not retried): "
        f"Not a directory (ENOTDIR): {tmp_path / 'weights' / 'trial.h5'}; fix it and run again to resume"
    )
    assert [t.state for t in study.trials] == [TrialState.FAIL]  # one trial, failed, nothing left RUNNING


def test_a_storage_that_cannot_be_written_stops_the_loop(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = open_study(spec)
    journal = tmp_path / "f.journal"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def objective(trial: optuna.Trial) -> float:
        resource.setrlimit(resource.RLIMIT_FSIZE, (journal.stat().st_size, hard))  # the disk fills up now
        return 1.0

    try:
        with pytest.raises(faults.InfrastructureFault, match=r"^stopped at trial 0 .*: File too large \(EFBIG\)"):
            run_trials(study, objective, spec, since=0.0, tracking=None)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert all(line.endswith(b"}") for line in journal.read_bytes().splitlines())  # no torn record left
