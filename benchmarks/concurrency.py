"""Trials per hour with 1, 2 and 4 worker processes on one device (``cnnsearch run --workers N``).

Each run is a fresh study in a fresh folder: the fixed trial of ``_fixed.py``
(every trial trains the same small CNN) ``--trials`` times. Runs alternate in
the order 1, 2, 4, 1, 2, 4, ... for ``--reps`` rounds, and the median counts.
Two rates are printed per run: over the whole command (start-up included: each
worker process imports TensorFlow and loads the data) and over the study's
span, from the first trial's start to the last trial's end (the steady rate of
a long study).

    .venv/bin/python benchmarks/concurrency.py                  # 12 trials of 2 epochs, 2 rounds
    .venv/bin/python benchmarks/concurrency.py --quick          # 4 trials of 1 epoch on 600 images, < 2 min
    .venv/bin/python benchmarks/concurrency.py --workers 1,2,4,8

Ends with ``concurrency_speedup=<best study-span trials/hour / 1 worker's>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fixed  # noqa: E402


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def write_spec(path: Path, raw: dict) -> None:
    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml(value)}" for key, value in table.items())
    path.write_text("\n".join(lines) + "\n")


def one_run(workers: int, args: argparse.Namespace) -> dict:
    """A fresh study with ``workers`` processes; its wall time and its trials' span."""
    import optuna

    raw = _fixed.spec_dict("concurrency", args.epochs, n_trials=args.trials, max_train_samples=args.samples)
    with tempfile.TemporaryDirectory(prefix="cnnsearch-concurrency-") as tmp:
        spec = Path(tmp) / "concurrency.toml"
        write_spec(spec, raw)
        command = [sys.executable, "-m", "cnnsearch", "run", str(spec)]
        if workers:
            command += ["--workers", str(workers)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(_fixed.ROOT))
        started = time.perf_counter()
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(Path(tmp) / "mlruns" / "studies" / "concurrency.journal"))
        )
        trials = optuna.load_study(study_name="concurrency", storage=storage).get_trials(deepcopy=False)
    finished = [t for t in trials if t.state.name == "COMPLETE"]
    span = (max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)).total_seconds()
    trial_s = statistics.mean(t.duration.total_seconds() for t in finished)
    return {"workers": workers, "wall_s": wall, "span_s": span, "trials": len(finished), "trial_s": trial_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 trials of 1 epoch on 600 images, 1 round")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare (0: in-process, no --workers)")
    parser.add_argument("--trials", type=int, default=None, help="trials per study (default 12; quick 4)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (default 2; quick 1)")
    parser.add_argument("--samples", type=int, default=None, help="max training images (default 2000; quick 600)")
    parser.add_argument("--reps", type=int, default=None, help="rounds over the worker counts (default 2; quick 1)")
    args = parser.parse_args()
    args.trials = args.trials or (4 if args.quick else 12)
    args.epochs = args.epochs or (1 if args.quick else 2)
    args.samples = args.samples or (600 if args.quick else 2000)
    args.reps = args.reps or (1 if args.quick else 2)
    counts = [int(n) for n in args.workers.split(",")]

    import keras  # noqa: F401 - for the versions line only

    print(
        f"concurrency: {args.trials} trials x {args.epochs} epochs on up to {args.samples} images "
        f"({_fixed.cifar_path() or 'digits'}), {args.reps} round(s); {_fixed.versions()}"
    )
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    for rep in range(args.reps):
        for n in counts:
            result = one_run(n, args)
            runs[n].append(result)
            print(
                f"round {rep} workers {n}: wall {result['wall_s']:.1f} s, study span {result['span_s']:.1f} s, "
                f"mean trial {result['trial_s']:.1f} s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    print(f"\n{'workers':>7} {'trials/h (wall)':>16} {'trials/h (span)':>16} {'mean trial s':>13}")
    rates = {}
    for n in counts:
        wall = statistics.median(r["wall_s"] for r in runs[n])
        span = statistics.median(r["span_s"] for r in runs[n])
        rates[n] = args.trials * 3600 / span
        trial_s = statistics.median(r["trial_s"] for r in runs[n])
        print(f"{n or 'in-proc':>7} {args.trials * 3600 / wall:>16.0f} {rates[n]:>16.0f} {trial_s:>13.1f}")
    one = rates.get(1) or rates[counts[0]]
    best = max(rates, key=rates.get)
    print(f"best: {best} workers")
    print(f"concurrency_speedup={rates[best] / one:.2f}")


if __name__ == "__main__":
    main()
