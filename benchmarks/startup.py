"""Seconds from launching ``cnnsearch run`` to the first training step and to the first finished trial.

Launches ``python -m cnnsearch run SPEC`` (the console script's code path) as a
fresh process in a fresh folder, with one addition: a start-up hook, loaded by
``-c`` before the CLI, that wraps ``keras.Model.fit`` to print a wall-clock
timestamp when the first training batch ends. The first finished trial's time
comes from the study storage (Optuna's ``datetime_complete``). The spec is the
fixed trial of ``_fixed.py`` (1 trial of 1 epoch).

    .venv/bin/python benchmarks/startup.py            # 3 launches, median
    .venv/bin/python benchmarks/startup.py --quick    # 1 launch on 1,000 images, < 2 min

Ends with ``startup_s=<median seconds to the first training step>`` (and prints
``first_trial_s`` on the line before).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fixed  # noqa: E402
from concurrency import write_spec  # noqa: E402

MARK = "CNNSEARCH_FIRST_STEP"

#: Runs in the launched process before the CLI: prints MARK <time> after the first batch, once.
HOOK = f"""
import sys, time
import keras

class _FirstStep(keras.callbacks.Callback):
    done = False
    def on_train_batch_end(self, batch, logs=None):
        if not _FirstStep.done:
            _FirstStep.done = True
            print("{MARK}", repr(time.time()), flush=True)

_fit = keras.Model.fit
def fit(self, *args, callbacks=None, **kwargs):
    callbacks = list(callbacks or [])
    if not _FirstStep.done:
        callbacks.append(_FirstStep())
    return _fit(self, *args, callbacks=callbacks, **kwargs)
keras.Model.fit = fit

from cnnsearch.cli import app
sys.argv = ["cnnsearch", *sys.argv[1:]]
app()
"""


def launch(args: argparse.Namespace) -> dict[str, float]:
    import optuna

    raw = _fixed.spec_dict("startup", 1, n_trials=1, max_train_samples=args.samples)
    with tempfile.TemporaryDirectory(prefix="cnnsearch-startup-") as tmp:
        spec = Path(tmp) / "startup.toml"
        write_spec(spec, raw)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(_fixed.ROOT))
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-c", HOOK, "run", str(spec)], cwd=tmp, env=env, capture_output=True, text=True
        )
        ended = time.time()
        if done.returncode != 0:
            raise SystemExit(f"cnnsearch run failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        marks = [float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith(MARK)]
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(Path(tmp) / "mlruns" / "studies" / "startup.journal"))
        )
        trial = optuna.load_study(study_name="startup", storage=storage).trials[0]
    return {
        "first_step_s": marks[0] - started if marks else float("nan"),
        "trial_started_s": trial.datetime_start.timestamp() - started,
        "first_trial_s": trial.datetime_complete.timestamp() - started,
        "exit_s": ended - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 launch on 1,000 images")
    parser.add_argument("--reps", type=int, default=None, help="launches (default 3; quick 1)")
    parser.add_argument("--samples", type=int, default=None, help="max training images (default all; quick 1000)")
    args = parser.parse_args()
    args.reps = args.reps or (1 if args.quick else 3)
    args.samples = args.samples or (1000 if args.quick else None)

    import keras  # noqa: F401 - for the versions line only

    print(f"startup: `cnnsearch run` on 1 trial x 1 epoch ({_fixed.cifar_path() or 'digits'}); {_fixed.versions()}")
    results = []
    for rep in range(args.reps):
        result = launch(args)
        results.append(result)
        print(
            f"launch {rep}: first trial begins {result['trial_started_s']:.1f} s, first training step "
            f"{result['first_step_s']:.1f} s, first trial finished {result['first_trial_s']:.1f} s, "
            f"process exits {result['exit_s']:.1f} s (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print(f"first_trial_s={statistics.median(r['first_trial_s'] for r in results):.1f}")
    print(f"startup_s={statistics.median(r['first_step_s'] for r in results):.1f}")


if __name__ == "__main__":
    main()
