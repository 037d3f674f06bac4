"""What cnnsearch's trial path costs over a bare ``model.fit`` loop, same model, data and epochs.

A (cnnsearch): one trial of a real study: the trial loop (``search/_trial_loop.py``:
study lock, heartbeat, exact-count check), ``Objective`` (``search/_objective.py``:
suggest, MLflow run, seed, dtype policy, build, model summary, callbacks: NaN guard,
early stopping, LR plateau, pruning report, per-epoch metrics; curve PNG and
diagnosis, per-class metrics, top-k weights) and the after-trial hook
(``search.AfterTrial``: study progress, study plots when due), tracking into a
scratch MLflow store through ``reporting.SearchTracking``. The spec's tunables are
all constants (``_fixed.py``).
B (bare): build the same model, compile it with the same settings, ``model.fit``
with the same validation data and epochs.

One warm-up pair first (imports, first tracing), then ``--reps`` pairs, A and B
alternating (ABAB...) so that load from other processes hits both alike. Inside A,
the time of each part is taken as well (wrapping the functions in this process).

    .venv/bin/python benchmarks/overhead.py              # 10-epoch trials, CIFAR-10 subset, 3 pairs
    .venv/bin/python benchmarks/overhead.py --quick      # 2 epochs on 1,200 images, 2 pairs, < 2 min

Ends with ``overhead_ratio=<sum of A times / sum of B times>`` (wall time) over the
measured pairs; the line before gives the same ratio in process CPU time, which
moves less when other processes share the machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fixed  # noqa: E402

#: Per-part seconds of the current cnnsearch trial.
PARTS: dict[str, float] = defaultdict(float)


def timed(owner: Any, name: str, part: str) -> None:
    """Replace ``owner.name`` with a wrapper adding its wall time to PARTS[part]."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            PARTS[part] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs on 1,200 images, 2 measured pairs")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (default 10; quick 2)")
    parser.add_argument("--reps", type=int, default=None, help="measured A/B pairs (default 3; quick 2)")
    parser.add_argument("--samples", type=int, default=None, help="max training images (default all)")
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 10)
    reps = args.reps or (2 if args.quick else 3)
    samples = args.samples or (1200 if args.quick else None)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnnsearch._runtime import load_keras

    load_keras()
    import keras

    from cnnsearch import data
    from cnnsearch.models import build
    from cnnsearch.reporting import SearchTracking, _artifacts
    from cnnsearch.search import AfterTrial, Objective, _checkpoints, _heartbeat, _objective, _trial_loop, open_study
    from cnnsearch.spec import spec_to_toml, validate_spec
    from cnnsearch.tracking import Tracker
    from cnnsearch.training import make_optimizer

    # Measurement wrappers (the real functions run inside them), patched where the trial path looks them up:
    # the objective's own imports (fit, per_class_metrics, build_for_trial) and the trial loop's (study_lock,
    # trial_counts) in their modules; module-level calls (_artifacts, _checkpoints, _heartbeat) where they live.
    timed(_objective, "fit", "fit (incl. callbacks)")
    timed(_objective.keras.backend, "clear_session", "clear_session")
    timed(_artifacts, "log_trial_curves", "curves PNG + diagnosis")
    timed(_artifacts, "log_model_summary", "model summary")
    timed(_objective, "per_class_metrics", "per-class metrics")
    timed(_checkpoints, "keep", "top-k weights")
    timed(_objective, "build_for_trial", "build model")
    timed(Tracker, "start_trial", "MLflow: open trial run")
    timed(Tracker, "end_trial", "MLflow: close trial run")
    timed(_trial_loop.gc, "collect", "gc.collect after the trial")
    timed(_heartbeat, "fail_stale_trials", "stale-trial check")
    timed(_trial_loop, "study_lock", "study lock")
    timed(_trial_loop, "trial_counts", "trial count")

    scratch = tempfile.TemporaryDirectory(prefix="cnnsearch-overhead-")
    os.chdir(scratch.name)
    spec = validate_spec(_fixed.spec_dict("overhead", epochs, max_train_samples=samples))
    started = time.perf_counter()
    splits = data.load(spec.data, seed=spec.study.seed)
    tracker = SearchTracking(spec)
    study = open_study(spec, tracking=tracker)
    parent = tracker.open_study_run(study, {"resolved.toml": spec_to_toml(spec)})
    objective = Objective(spec, splits, tracker, parent)
    plots = tracker.study_plots(parent)
    progress = AfterTrial(tracker, parent, plots=plots)  # what search.run calls after each trial
    setup_s = time.perf_counter() - started
    params = _fixed.params_of(spec)
    compile_kwargs = objective.performance.compile_kwargs()

    def after_trial(study: Any, trial: Any) -> None:  # search.run's AfterTrial, timed
        started = time.perf_counter()
        progress(study, trial)
        PARTS["after-trial (progress, study plots)"] += time.perf_counter() - started

    def run_cnnsearch() -> tuple[float, float, dict[str, float]]:
        PARTS.clear()
        started, cpu = time.perf_counter(), time.process_time()
        _trial_loop.run_trials(study, objective, spec, time.time(), tracker, after_trial=after_trial, max_trials=1)
        return time.perf_counter() - started, time.process_time() - cpu, dict(PARTS)

    def run_bare() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        keras.utils.set_random_seed(spec.study.seed)
        net = build(params, splits.input_shape, splits.num_classes)
        net.compile(
            optimizer=make_optimizer(params),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            **compile_kwargs,
        )
        net.fit(
            splits.x_train,
            splits.y_train,
            validation_data=(splits.x_val, splits.y_val),
            batch_size=params["batch_size"],
            epochs=epochs,
            shuffle=True,
            verbose=0,
        )
        del net
        return time.perf_counter() - started, time.process_time() - cpu

    print(
        f"overhead: {len(splits.x_train)} training images {splits.x_train.shape[1:]}, {epochs} epochs, "
        f"batch {params['batch_size']}; compile {compile_kwargs}; study set-up {setup_s:.1f} s (once per study)"
    )
    print(_fixed.versions())
    warm_a, _, _ = run_cnnsearch()
    warm_b, _ = run_bare()
    print(f"warm-up pair (imports, first tracing): cnnsearch {warm_a:.2f} s, bare {warm_b:.2f} s")
    a_times, b_times, a_cpu, b_cpu, parts = [], [], [], [], defaultdict(list)
    print(
        f"{'pair':>4} {'cnnsearch s':>11} {'bare s':>8} {'ratio':>7} {'cnnsearch cpu-s':>15} {'bare cpu-s':>10} {'ratio':>7}   load"
    )
    for rep in range(reps):
        a, a_c, split = run_cnnsearch()
        b, b_c = run_bare()
        a_times.append(a)
        b_times.append(b)
        a_cpu.append(a_c)
        b_cpu.append(b_c)
        for key, value in split.items():
            parts[key].append(value)
        print(
            f"{rep:>4} {a:>11.2f} {b:>8.2f} {a / b:>7.3f} {a_c:>15.2f} {b_c:>10.2f} {a_c / b_c:>7.3f}   "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )

    started = time.perf_counter()
    plots.finish(study)
    tracker.close_study_run(parent)
    finish_s = time.perf_counter() - started
    tracking = [t.user_attrs.get("tracking_s", 0.0) for t in study.get_trials(deepcopy=False)[1:]]
    os.chdir(_fixed.ROOT)
    scratch.cleanup()

    mean_a = statistics.mean(a_times)
    print(f"\nwhere a cnnsearch trial's time goes (mean of {reps}; {mean_a:.2f} s per trial):")
    fit_s = statistics.mean(parts.get("fit (incl. callbacks)", [0.0]))
    for key, values in sorted(parts.items(), key=lambda kv: -statistics.mean(kv[1])):
        value = statistics.mean(values)
        print(f"  {key:<38} {value:8.3f} s  {value / mean_a:6.1%}")
    rest = mean_a - sum(statistics.mean(v) for v in parts.values() if v)
    print(f"  {'rest (lock, suggest, MLflow run, ...)':<38} {rest:8.3f} s  {rest / mean_a:6.1%}")
    print(f"  (tracking_s attribute, all MLflow work of a trial: mean {statistics.mean(tracking):.3f} s)")
    print(
        f"bare fit vs cnnsearch fit: {statistics.mean(b_times):.2f} s vs {fit_s:.2f} s "
        f"(callbacks and per-trial compile settings inside fit: {fit_s / statistics.mean(b_times) - 1:+.1%})"
    )
    print(f"once per study: set-up {setup_s:.2f} s, final plots + closing the parent run {finish_s:.2f} s")
    ratios = [a / b for a, b in zip(a_times, b_times)]
    print(f"pair ratios: {', '.join(f'{r:.3f}' for r in ratios)} (median {statistics.median(ratios):.3f})")
    print(
        f"process CPU time (all threads; steadier than wall time when other processes share the CPU): "
        f"overhead_ratio_cpu={sum(a_cpu) / sum(b_cpu):.3f}"
    )
    print(f"overhead_ratio={sum(a_times) / sum(b_times):.3f}")


if __name__ == "__main__":
    main()
