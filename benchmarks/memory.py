"""Resident memory across many trials in one process: does it stay flat?

Runs a study of tiny digits trials (1 epoch each) in this process, the way
``cnnsearch run`` does without workers, and records the process's resident set
size after every trial. Prints a table, then one summary line:

    rss_growth_mb=<RSS after the last trial - RSS after the warm-up trials>

    .venv/bin/python benchmarks/memory.py                 # 60 trials in this process
    .venv/bin/python benchmarks/memory.py --trials 100 --warmup 10
    .venv/bin/python benchmarks/memory.py --recycle 10    # one worker process, replaced every 10 trials

With ``--recycle K`` the trials run in a worker process of ``cnnsearch run
--workers 1`` with ``study.trials_per_worker = K``; the worker's RSS is sampled
whenever a trial finishes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPEC = """
[study]
name = "memory"
n_trials = {trials}
sampler = "random"
pruner = "none"
seed = 1
keep_top_k = 3

[data]
dataset = "digits"
max_train_samples = 600

[model]
blocks = {{ low = 1, high = 3 }}
filters = {{ choices = [8, 16, 32] }}
kernel_size = {{ choices = [3, 5] }}
batch_norm = {{ choices = [true, false] }}
dropout = {{ low = 0.0, high = 0.3 }}
dense_units = {{ choices = [0, 32, 64] }}

[train]
epochs = 1
batch_size = {{ choices = [32, 64] }}
learning_rate = {{ low = 1e-3, high = 1e-2, log = true }}
optimizer = {{ choices = ["adam", "sgd"] }}
"""


def rss_mb() -> float:
    """Current resident set size of this process, in MiB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Recorder:
    """A silent study display (a ``search.StudyDisplay``) that samples RSS after each trial."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, str, float, float]] = []
        self.started = time.perf_counter()

    def study_opened(self, study: Any) -> None:
        self.samples.append((-1, "start", rss_mb(), 0.0))

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        pass

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        pass

    def trial_finished(self, study: Any, trial: Any) -> None:
        self.samples.append((trial.number, trial.state.name, rss_mb(), time.perf_counter() - self.started))
        if trial.number % 10 == 9:
            print(f"  trial {trial.number:>3}  rss {self.samples[-1][2]:7.1f} MiB", flush=True)


class WorkerRecorder(Recorder):
    """The supervisor's display (a ``search.PoolDisplay``): samples the live worker's RSS as trials finish."""

    def __init__(self) -> None:
        super().__init__()
        self.supervisor: Any = None
        self.finished = 0
        self.pids: list[int] = []

    def say(self, text: str) -> None:
        pass

    def refresh(self, study: Any) -> None:
        from optuna.trial import TrialState

        done = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        live = [s.proc.pid for s in self.supervisor.slots if s.proc is not None and s.proc.poll() is None]
        for trial in sorted(done, key=lambda t: t.number)[self.finished :]:
            rss = _rss_of(live[0]) if live else float("nan")
            self.samples.append((trial.number, trial.state.name, rss, time.perf_counter() - self.started))
            if live and live[0] not in self.pids:
                self.pids.append(live[0])
            if trial.number % 10 == 9:
                print(
                    f"  trial {trial.number:>3}  worker rss {rss:7.1f} MiB  (worker process {len(self.pids)})",
                    flush=True,
                )
        self.finished = len(done)


def _rss_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10, help="trials before the baseline (caches, graphs)")
    parser.add_argument("--recycle", type=int, default=0, help="run in a worker process recycled every K trials")
    args = parser.parse_args()
    if args.trials <= args.warmup:
        parser.error("--trials must exceed --warmup")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnnsearch._runtime import load_keras

    backend = load_keras()
    import keras
    import mlflow
    import optuna

    from cnnsearch import data, search
    from cnnsearch.reporting import SearchTracking
    from cnnsearch.spec import load_spec

    with tempfile.TemporaryDirectory(prefix="cnnsearch-memory-") as tmp:
        os.chdir(tmp)
        path = Path(tmp) / "memory.toml"
        path.write_text(SPEC.format(trials=args.trials))
        where = f"a worker process recycled every {args.recycle} trials" if args.recycle else "this process"
        print(
            f"{args.trials} trials, 1 epoch each, digits, in {where}; keras {keras.__version__} ({backend}), "
            f"optuna {optuna.__version__}, mlflow {mlflow.__version__}, python {platform.python_version()}"
        )
        if args.recycle:
            from cnnsearch.search import _pool

            _pool.POLL_S = 0.2
            recorder = WorkerRecorder()
            overrides = [f"study.trials_per_worker={args.recycle}"]
            spec = load_spec(path, overrides)
            recorder.supervisor = _pool.Supervisor(spec, path, overrides, 1, SearchTracking(spec), recorder)
            recorder.supervisor.run()
        else:
            recorder = Recorder()
            spec = load_spec(path)
            splits = data.load(spec.data, seed=spec.study.seed)
            search.run(spec, splits, SearchTracking(spec), None, recorder)  # as `cnnsearch run` does, with this display

    trials = [s for s in recorder.samples if s[0] >= 0 and s[2] == s[2]]
    base = trials[args.warmup - 1][2]
    last = trials[-1][2]
    tail = trials[args.warmup - 1 :]
    xs = [s[0] for s in tail]
    ys = [s[2] for s in tail]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    start = "supervisor_rss_mb" if args.recycle else "rss_start_mb"  # the worker's own start is not seen
    print(f"{start}={recorder.samples[0][2]:.1f}")
    print(f"rss_after_trial_{args.warmup - 1}_mb={base:.1f}")
    print(f"rss_after_trial_{trials[-1][0]}_mb={last:.1f}")
    print(f"rss_max_mb={max(s[2] for s in trials):.1f}")
    print(f"rss_slope_mb_per_trial={slope:.3f}")
    print(f"seconds={trials[-1][3]:.0f}")
    print(f"rss_growth_mb={last - base:.1f}")


if __name__ == "__main__":
    main()
