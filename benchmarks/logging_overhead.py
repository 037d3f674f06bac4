"""How much of a search's time goes to tracking (MLflow calls, curve PNGs, study plots).

Runs a spec (the digits demo by default) in a fresh temporary folder, so its
MLflow store and study are new, then reads back what the run measured itself:

- per trial, the Optuna user attribute ``tracking_s``: wall time inside the Tracker
  (run creation, params, per-epoch metric batches, model summary, curve PNG,
  diagnosis tags, closing the run), timed with ``time.perf_counter``;
- per study, the parent run's ``plots_refresh_s`` metric: each refresh of the
  Optuna plots (PNG + HTML) and the trials CSV.

    .venv/bin/python benchmarks/logging_overhead.py [SPEC] [--set study.n_trials=12 ...]

Prints a per-trial table and ``logging_share=<x>``: tracking time over trial time,
summed over all trials. Not run by CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "search_spaces" / "digits.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    spec_path = Path(args.spec).resolve()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnnsearch._runtime import load_keras

    backend = load_keras()
    import keras
    import mlflow
    import optuna

    from cnnsearch import run
    from cnnsearch._keys import PARENT_RUN_ATTR
    from cnnsearch.tracking import default_tracking_uri

    with tempfile.TemporaryDirectory(prefix="cnnsearch-bench-") as tmp:
        os.chdir(tmp)
        started = time.perf_counter()
        study = run(spec_path, overrides=args.overrides, progress=False)
        wall = time.perf_counter() - started

        from mlflow.tracking import MlflowClient

        client = MlflowClient(default_tracking_uri())
        parent = study.user_attrs[PARENT_RUN_ATTR]
        refreshes = [m.value for m in client.get_metric_history(parent, "plots_refresh_s")]
        trials = [t for t in study.trials if t.duration is not None and "tracking_s" in t.user_attrs]
        os.chdir(ROOT)

    print(
        f"spec {spec_path.name}  overrides {args.overrides or '-'}  Keras {keras.__version__} ({backend}), "
        f"Optuna {optuna.__version__}, MLflow {mlflow.__version__}, Python {sys.version.split()[0]}"
    )
    print(f"{'trial':>5} {'state':<9} {'epochs':>6} {'trial_s':>8} {'tracking_s':>10} {'share':>7}")
    shares = []
    for t in trials:
        seconds, tracking = t.duration.total_seconds(), t.user_attrs["tracking_s"]
        shares.append(tracking / seconds)
        print(
            f"{t.number:>5} {t.state.name:<9} {t.user_attrs.get('epochs_run', '-'):>6} "
            f"{seconds:>8.2f} {tracking:>10.3f} {tracking / seconds:>7.1%}"
        )
    trial_s = sum(t.duration.total_seconds() for t in trials)
    tracking_s = sum(t.user_attrs["tracking_s"] for t in trials)
    epochs = sum(t.user_attrs.get("epochs_run", 0) for t in trials)
    print(f"trials {len(trials)}, epochs {epochs}, study wall {wall:.1f} s, trial time {trial_s:.1f} s")
    print(
        f"per-trial share: median {statistics.median(shares):.1%}, max {max(shares):.1%}; "
        f"tracking per epoch {tracking_s / max(epochs, 1) * 1000:.1f} ms"
    )
    print(
        f"study plots: {len(refreshes)} refreshes, {sum(refreshes):.2f} s "
        f"({sum(refreshes) / wall:.1%} of study wall time; each {', '.join(f'{r:.2f}' for r in refreshes)} s)"
    )
    print(f"all tracking (trials + plots) / study wall: {(tracking_s + sum(refreshes)) / wall:.1%}")
    print(f"logging_share={tracking_s / trial_s:.4f}")


if __name__ == "__main__":
    main()
