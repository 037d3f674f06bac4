"""``cnnsearch run --workers N``: N worker processes on one machine, one display, one Ctrl-C.

The supervisor creates the study and its MLflow parent run, then starts each
worker as ``python -m cnnsearch worker SPEC ...`` (a fresh interpreter: its own
TensorFlow, its own memory). Workers coordinate through the study storage only
(``_trial_loop.py``); the supervisor polls the same storage for its display,
so several machines, each with its own supervisor, can share one study.

- GPUs: worker i sees GPU ``i mod G`` (``CUDA_VISIBLE_DEVICES``); every worker gets
  TensorFlow memory growth and JAX preallocation off, so several share one GPU.
- A worker that exits after ``study.trials_per_worker`` trials (recycling) or dies
  is replaced while the study still needs trials; its abandoned trial is failed
  and retried by the heartbeat logic.
- Ctrl-C (or SIGTERM): each worker gets SIGINT once, ends its trial as FAIL in
  Optuna and KILLED in MLflow, and exits; stragglers are killed after a grace
  period and their trials failed from here. Exit status 130.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import optuna

from cnnsearch._paths import logs_dir
from cnnsearch.errors import CnnsearchError
from cnnsearch.search import _final as final
from cnnsearch.search import _heartbeat as heartbeat
from cnnsearch.search import _interrupt as interrupt
from cnnsearch.search import _trial_loop as trial_loop
from cnnsearch.search._device import visible_gpus
from cnnsearch.search._locks import study_lock
from cnnsearch.search._protocols import PoolDisplay, StudyPlots, Tracking
from cnnsearch.search._runner import close_session, open_session, spec_files
from cnnsearch.search._states import trial_counts
from cnnsearch.spec import Spec

POLL_S = 1.0
#: Seconds workers get to close their trials after Ctrl-C before they are killed.
STOP_GRACE_S = 60.0
#: A worker slot that dies this many times in a row with no trial finishing in between is a bug.
MAX_CRASHES = 3


def worker_env(slot: int, gpus: list[str]) -> dict[str, str]:
    """The environment of worker ``slot``: its GPU (round-robin) and GPU memory sharing."""
    env = dict(os.environ)
    env.update(
        TF_FORCE_GPU_ALLOW_GROWTH="true",
        XLA_PYTHON_CLIENT_PREALLOCATE="false",
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "3"),
        PYTHONUNBUFFERED="1",
    )
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    return env


@dataclass
class Slot:
    """One worker position: its current process, its log, how often it died in a row."""

    index: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    crashes: int = 0
    spawned: int = 0


class Supervisor:
    """Starts, watches, replaces and stops the worker processes of one study."""

    def __init__(
        self,
        spec: Spec,
        spec_path: Path,
        overrides: list[str],
        workers: int,
        tracking: Tracking,
        display: PoolDisplay | None = None,
    ) -> None:
        self.spec = spec
        self.spec_path = spec_path
        self.overrides = overrides
        self.tracking = tracking
        self.display = display
        self.gpus = visible_gpus()
        logs = logs_dir(spec.study.name)
        self.slots = [Slot(i, logs / f"worker-{i}.log") for i in range(workers)]
        self.since = time.time()
        self.deadline: float | None = None
        self.explore_until: float | None = None
        self.plots: StudyPlots | None = None

    # --- the whole run ------------------------------------------------------------------

    def run(self) -> optuna.Study:
        session = open_session(self.spec, self.tracking, spec_files(self.spec, self.spec_path))
        study = session.study
        self.since, self.deadline = session.since, session.deadline
        self.explore_until = (
            final.exploration_deadline(self.spec, self.deadline) if self.spec.study.final_share else None
        )
        if self.display is not None:
            self.display.study_opened(study)
        self.plots = self.tracking.study_plots(session.parent_run_id)  # parent-run plots and trials CSV
        status = "KILLED"
        previous = signal.signal(signal.SIGTERM, interrupt.now)
        try:
            for slot in self.slots:
                self._spawn(slot)
            self._watch(study)
            self._fail_stale(study)  # all workers are gone: nothing may stay RUNNING
            streak, reason = trial_loop.failure_streak(study, self.since)
            if streak >= self.spec.study.max_consecutive_failures:
                status = "FAILED"
                raise CnnsearchError(trial_loop.failures_stop_message(self.spec, reason))
            status = "FINISHED"
        except BaseException:  # Ctrl-C, SIGTERM, a worker's error: stop the others cleanly
            self._stop_all(study)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
            close_session(session, status, self.plots)
            if self.display is not None:
                self.display.refresh(study)
        return study

    def _fail_stale(self, study: optuna.Study) -> None:
        with study_lock(self.spec):
            heartbeat.fail_stale_trials(study, self.spec, self.tracking)

    def _watch(self, study: optuna.Study) -> None:
        """Poll until every worker has exited and no replacement is needed."""
        finished_before = None
        while True:
            if self.display is not None:
                self.display.refresh(study)
            finished = trial_counts(study).finished
            if finished_before is not None and finished > finished_before:
                for slot in self.slots:
                    slot.crashes = 0  # progress: earlier deaths were not a crash loop
                if self.plots is not None:
                    self.plots.trial_finished(study)  # redraws the study plots when the refresh policy says so
            finished_before = finished
            live = 0
            for slot in self.slots:
                code = slot.proc.poll() if slot.proc is not None else None
                if slot.proc is not None and code is None:
                    live += 1
                    continue
                if slot.proc is not None:
                    self._exited(slot, code, study)  # type: ignore[arg-type]
                    if slot.proc is not None:
                        live += 1
            if live == 0:
                return
            time.sleep(POLL_S)

    def _exited(self, slot: Slot, code: int, study: optuna.Study) -> None:
        """A worker ended: raise its error, or replace it if the study still needs trials."""
        assert slot.proc is not None
        pid = slot.proc.pid
        slot.proc = None
        if slot.log is not None:
            slot.log.close()
        if code == 1:
            raise CnnsearchError(f"worker {slot.index} failed: {_last_error(slot.log_path)} (log: {slot.log_path})")
        if code != 0:
            slot.crashes += 1
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            self._say(f"[red]worker {slot.index} (pid {pid}) died ({how}); its trial is failed and retried[/red]")
            if slot.crashes >= MAX_CRASHES:
                raise CnnsearchError(
                    f"worker {slot.index} died {slot.crashes} times in a row without a trial finishing (log: {slot.log_path})"
                )
            self._fail_stale(study)  # its trial's retry is queued now, for the replacement to find
        if self._needs_more(study):
            self._spawn(slot)

    def _needs_more(self, study: optuna.Study) -> bool:
        """A replacement worker has work: trials to explore, or a final training waiting for a process.

        After the exploration deadline only the final training (and the trainings beside it) is left:
        a worker that found nothing queued for it and stopped is not replaced (that would start
        interpreters that stop at once, again and again, on the final training's cores).
        """
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            return False
        if trial_loop.failure_streak(study, self.since)[0] >= self.spec.study.max_consecutive_failures:
            return False
        if self.explore_until is not None and now >= self.explore_until:
            return final.pending(study)
        return trial_counts(study).finished < self.spec.study.n_trials

    # --- processes -----------------------------------------------------------------------

    def _spawn(self, slot: Slot) -> None:
        sets = [arg for item in self.overrides for arg in ("--set", item)]
        command = [
            sys.executable,
            "-m",
            "cnnsearch",
            "worker",
            str(self.spec_path),
            *sets,
            "--slot",
            str(slot.index),
            "--since",
            repr(self.since),
        ]
        if self.spec.study.trials_per_worker:
            command += ["--trials", str(self.spec.study.trials_per_worker)]
        slot.log_path.parent.mkdir(parents=True, exist_ok=True)
        slot.log = open(slot.log_path, "ab")
        slot.proc = subprocess.Popen(
            command,
            env=worker_env(slot.index, self.gpus),
            stdin=subprocess.DEVNULL,
            stdout=slot.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C reaches the supervisor only; it forwards once
        )
        slot.spawned += 1

    def _stop_all(self, study: optuna.Study) -> None:
        """Ctrl-C for every worker, a grace period to close their trials, then SIGKILL and clean up."""
        live = [s for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for slot in live:
            _signal(slot, signal.SIGINT)
        if live:
            self._say(f"stopping {len(live)} worker(s): their running trials end as failed/KILLED ...")
        deadline = time.monotonic() + STOP_GRACE_S
        try:
            for slot in live:
                assert slot.proc is not None
                try:
                    slot.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        for slot in live:
            assert slot.proc is not None
            if slot.proc.poll() is None:
                _signal(slot, signal.SIGKILL)
                slot.proc.wait()
            if slot.log is not None:
                slot.log.close()
        self._fail_stale(study)  # what the killed ones left RUNNING

    def _say(self, text: str) -> None:
        if self.display is not None:
            self.display.say(text)


def _signal(slot: Slot, signum: int) -> None:
    assert slot.proc is not None
    try:
        slot.proc.send_signal(signum)
    except ProcessLookupError:
        pass


def _last_error(log_path: Path) -> str:
    """The worker's one-line error (the CLI prints ``error: ...``), else its last line."""
    try:
        lines = log_path.read_text("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return errors[-1].removeprefix("error: ")
    return lines[-1] if lines else "no output"


def run_workers(
    spec: Spec,
    spec_path: Path,
    overrides: list[str],
    workers: int,
    tracking: Tracking,
    display: PoolDisplay | None = None,
) -> optuna.Study:
    """Run the study with ``workers`` processes on this machine (see the module docstring)."""
    return Supervisor(spec, spec_path, overrides, workers, tracking, display).run()
