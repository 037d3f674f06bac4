"""Journal integrity: a torn last record is moved aside at every byte it can be cut at; corruption
elsewhere is one error that changes nothing; appends leave whole records only.

The journals are written by real Optuna studies (a trivial objective, nothing trains)
and opened through cnnsearch's own storage path (``load_study``/``open_study``).
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

from cnnsearch._keys import OWNER_ATTR, REASON_ATTR
from cnnsearch.errors import CnnsearchError
from cnnsearch.search import _journal as journal
from cnnsearch.search import fail_stale_trials, load_study, open_study
from cnnsearch.search._heartbeat import HOST
from cnnsearch.spec import Spec, validate_spec

NAME = "journal"


@cache
def optuna_journal() -> bytes:
    """A journal of 3 finished trials, written by Optuna itself; its last record completes trial 2."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "s.journal")
        storage = JournalStorage(JournalFileBackend(path))
        study = optuna.create_study(study_name=NAME, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0) ** 2, n_trials=3)
        return Path(path).read_bytes()


def _last_record_start(data: bytes) -> int:
    return data.rstrip(b"\n").rfind(b"\n") + 1


LAST = _last_record_start(optuna_journal())
#: Every length the journal can be cut to inside its last record: from its first byte to its line end.
OFFSETS = list(range(LAST, len(optuna_journal()) + 1))


def _spec(path: Path) -> Spec:
    return validate_spec({"study": {"name": NAME, "storage": str(path)}, "data": {"dataset": "digits"}})


def _torn_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".torn-*"))


def test_the_last_record_of_the_fixture_completes_the_last_trial() -> None:
    record = json.loads(optuna_journal()[LAST:])
    assert record["op_code"] == optuna.storages.journal._storage.JournalOperation.SET_TRIAL_STATE_VALUES
    assert len(OFFSETS) > 50  # every byte of a real record, not a handful


@pytest.mark.parametrize("offset", OFFSETS)
def test_a_journal_cut_at_any_byte_of_its_last_record_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offset: int
) -> None:
    data = optuna_journal()
    path = tmp_path / "s.journal"
    path.write_bytes(data[:offset])

    study = load_study(_spec(path))

    states = [t.state for t in study.trials]
    if offset in (LAST, len(data)):  # a whole number of records: nothing to repair
        assert path.read_bytes() == data[:offset]
        assert _torn_files(path) == [] and capsys.readouterr().err == ""
        assert states[2] == (TrialState.COMPLETE if offset == len(data) else TrialState.RUNNING)
        return
    assert path.read_bytes() == data[:LAST]  # cut back to the last complete record
    (torn,) = _torn_files(path)
    assert torn.read_bytes() == data[LAST:offset]  # the torn part kept, byte for byte
    lines = data[:LAST].count(b"\n")
    assert capsys.readouterr().err == (
        f"note: {path}: last record was torn ({offset - LAST} bytes, kept in {torn}); cut back to line {lines}\n"
    )
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.RUNNING]  # trial 2 lost its end
    study.tell(study.trials[2].number, state=TrialState.FAIL)  # and it is appendable again
    assert load_study(_spec(path)).trials[2].state == TrialState.FAIL
    assert all(json.loads(line) for line in path.read_bytes().splitlines())


def _garbled(line: int) -> bytes:
    lines = optuna_journal().splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace(b"op_code", b"op_c\xffde")
    return b"".join(lines)


#: The line number of the fixture's last record.
LAST_LINE = optuna_journal()[:LAST].count(b"\n") + 1


def _corrupt(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "s.journal"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "torn record then a resume's append (the old failure)",
            optuna_journal()[: LAST + 20] + optuna_journal()[LAST:] * 2,
            rf"line {LAST_LINE} is not an Optuna journal record \(not JSON: ",
        ),
        (
            "a garbled line in the middle",
            _garbled(3),
            r"line 3 is not an Optuna journal record \(not UTF-8 text\)",
        ),
        ("random bytes", random.Random(0).randbytes(4096), r"line 1 is not an Optuna journal record \(not UTF-8"),
        ("random bytes, no line end", bytes(range(128, 256)), r"line 1 is not an Optuna journal record \(no line end"),
        ("a JSON array", b"[1, 2]\n", r"line 1 is not an Optuna journal record \(JSON, but no object with an op_code"),
        (
            "JSON of another kind",
            optuna_journal() + b'{"a": 1}\n',
            rf"line {LAST_LINE + 1} is not an Optuna journal record \(JSON",
        ),
        ("text", b"hello\nworld\n", r"line 1 is not an Optuna journal record \(not JSON: "),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_a_corrupt_journal_is_one_error_naming_file_and_line_and_is_left_unchanged(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = _corrupt(tmp_path, data)
    for command in (lambda: load_study(_spec(path)), lambda: open_study(_spec(path))):  # read-only, and run
        with pytest.raises(CnnsearchError, match=f"^{path}: {message}") as caught:
            command()
        assert "\n" not in str(caught.value)
        assert path.read_bytes() == data
        assert _torn_files(path) == [] and not Path(str(path) + ".lock").exists()


def test_a_zero_filled_tail_left_by_a_crash_is_moved_aside(tmp_path: Path) -> None:
    data = optuna_journal()
    path = _corrupt(tmp_path, data + b"\0" * 512)
    assert [t.state for t in load_study(_spec(path)).trials] == [TrialState.COMPLETE] * 3
    assert path.read_bytes() == data and _torn_files(path)[0].read_bytes() == b"\0" * 512


def test_a_torn_tail_is_left_to_the_writer_holding_optunas_append_lock(tmp_path: Path) -> None:
    data = optuna_journal()
    path = _corrupt(tmp_path, data[: LAST + 10])
    lock = JournalFileSymlinkLock(str(path))  # what a live writer holds while its record is half written
    lock.acquire()
    try:
        assert journal.check_journal(path, wait=False) is None  # a read-only command: not repaired under it
        assert path.read_bytes() == data[: LAST + 10] and _torn_files(path) == []
        assert len(load_study(_spec(path)).trials) == 3  # still readable: Optuna skips the partial line
    finally:
        lock.release()
    repair = journal.check_journal(path, wait=False)  # the lock is free: now it is torn for good
    assert repair is not None and repair.size == 10 and repair.lines == data[:LAST].count(b"\n")
    assert path.read_bytes() == data[:LAST] and not Path(str(path) + ".lock").exists()


def test_read_only_commands_create_no_journal_and_no_folder(tmp_path: Path) -> None:
    path = tmp_path / "mlruns" / "studies" / "s.journal"
    with pytest.raises(CnnsearchError, match=f"^no study named '{NAME}' yet: run `cnnsearch run` on this spec first$"):
        load_study(_spec(path))
    assert not (tmp_path / "mlruns").exists()
    db = tmp_path / "nowhere" / "s.db"
    spec = validate_spec({"study": {"name": NAME, "storage": f"sqlite:///{db}"}, "data": {"dataset": "digits"}})
    with pytest.raises(CnnsearchError, match="^no study named"):
        load_study(spec)
    assert not (tmp_path / "nowhere").exists()


def _dead_pid() -> int:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(gone.stdout)


def test_the_trial_of_a_torn_record_is_failed_with_a_reason_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    spec = _spec(path)
    study = open_study(spec)
    trial = study.ask()
    trial.set_user_attr(OWNER_ATTR, {"host": HOST, "pid": _dead_pid()})  # as the trial loop claims it
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, 0.5)  # the record a crash then tears
    data = path.read_bytes()
    path.write_bytes(data[: _last_record_start(data) + 7])

    resumed = open_study(spec)
    assert resumed.trials[0].state == TrialState.RUNNING  # its completion is gone with the torn record
    assert fail_stale_trials(resumed, spec, None) == [0]  # what open_session does under the study lock
    failed, retry = resumed.trials
    assert failed.state == TrialState.FAIL and "died during the trial" in failed.user_attrs[REASON_ATTR]
    assert retry.state == TrialState.WAITING and retry.params == failed.params


def test_a_failed_append_is_cut_back_to_whole_records(tmp_path: Path) -> None:
    """A real write failure (the file size limit, EFBIG, as a full disk gives ENOSPC) mid-record."""
    path = tmp_path / "s.journal"
    study = open_study(_spec(path))
    before = path.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 10, hard))  # room for 10 bytes of the record
    try:
        with pytest.raises(OSError, match="File too large"):
            study.set_user_attr("big", "x" * 100)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert path.read_bytes() == before  # not a torn record for the next append to glue onto
    study.set_user_attr("after", 1)
    assert optuna.load_study(study_name=NAME, storage=_storage(path)).user_attrs["after"] == 1


def _storage(path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def test_an_append_after_a_tail_torn_since_opening_moves_it_aside_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.journal"
    study = open_study(_spec(path))
    whole = path.read_bytes()
    with open(path, "ab") as handle:
        handle.write(b'{"op_code":5,"worker_id":"dead')  # another process died mid-write
    study.set_user_attr("after", 1)
    lines = path.read_bytes().splitlines()
    assert path.read_bytes().startswith(whole) and all("op_code" in json.loads(line) for line in lines)
    assert _torn_files(path)[0].read_bytes() == b'{"op_code":5,"worker_id":"dead'
    assert "last record was torn (30 bytes" in capsys.readouterr().err
    assert _storage(path).get_study_user_attrs(0)["after"] == 1
