"""Search efficiency on real images: cnnsearch vs random search vs KerasTuner vs the tutorial CNN.

Every method searches the same space (the shipped ``search_spaces/cifar10.toml``) on the
CIFAR-10 subset in ``../shared/data/cifar10-subset`` under the same budget of training
epochs, counted epoch by epoch across the whole search (pruned and early-stopped trials
spend only what they ran). Methods:

- ``cnnsearch``: the spec's own sampler and pruner, through cnnsearch's real trial path
  (Optuna study, callbacks, MLflow tracking into a scratch store);
- ``random``: the same trial path with Optuna's RandomSampler and no pruner;
- ``kt_hyperband`` / ``kt_bayes``: KerasTuner's Hyperband and BayesianOptimization over
  the same space (``cnnsearch.search.suggest`` driven by KerasTuner's ``hp``), same callbacks;
- ``tutorial``: the seed tutorials' fixed CNN (Conv 32-64-64, Dense 64, Adam, batch 32,
  10 epochs, no augmentation).

For each method and seed it records the anytime curve (best validation accuracy against
epochs spent and seconds spent), then retrains the winner found within the budget on
train + validation for the epochs that winner used and measures held-out test accuracy.
The last line printed is ``budget_ratio=<x>``: the share of random search's budget that
cnnsearch needed to reach random search's final best (mean over seeds; ``inf`` if never).

    .venv/bin/python benchmarks/search_efficiency.py --quick
    .venv/bin/python benchmarks/search_efficiency.py --seeds 3 --budget-epochs 60 --max-epochs 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnsearch._runtime import load_keras  # noqa: E402

BACKEND = load_keras()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _fixed import RANDOM_SEARCH, mean_std  # noqa: E402
from cnnsearch.data import Splits, load  # noqa: E402
from cnnsearch.models import build  # noqa: E402
from cnnsearch.search import suggest  # noqa: E402
from cnnsearch.spec import Spec, load_spec  # noqa: E402
from cnnsearch.training import compile_model, fit_full, standard_callbacks  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"
METHODS = ("cnnsearch", "random", "kt_hyperband", "kt_bayes", "tutorial")
TUTORIAL_EPOCHS = 10


@dataclass
class Ledger:
    """Every training epoch of one method's search, in order: the anytime curve and the winner."""

    budget_epochs: int
    budget_seconds: float | None
    started: float = field(default_factory=time.perf_counter)
    spent: int = 0
    points: list[tuple[int, float, float]] = field(default_factory=list)  # (epochs spent, seconds, val_accuracy)
    owners: list[tuple[Any, int, dict[str, Any]]] = field(default_factory=list)  # (trial, epoch in trial, params)

    def record(self, trial: Any, epoch: int, value: float, params: dict[str, Any]) -> None:
        self.spent += 1
        self.points.append((self.spent, time.perf_counter() - self.started, float(value)))
        self.owners.append((trial, epoch, params))

    def exhausted(self) -> bool:
        late = self.budget_seconds is not None and time.perf_counter() - self.started >= self.budget_seconds
        return self.spent >= self.budget_epochs or late

    def best_within(self, epochs: int) -> tuple[float, int | None]:
        """Best validation accuracy among the first ``epochs`` epochs, and where it was."""
        best, where = -math.inf, None
        for i, (spent, _, value) in enumerate(self.points):
            if spent > epochs:
                break
            if math.isfinite(value) and value > best:
                best, where = value, i
        return best, where

    def curve(self, epochs: int) -> list[float]:
        """Running best after 1..epochs epochs (flat after the search stopped)."""
        out, best = [], -math.inf
        values = [v for _, _, v in self.points]
        for e in range(epochs):
            if e < len(values) and math.isfinite(values[e]):
                best = max(best, values[e])
            out.append(best if math.isfinite(best) else 0.0)
        return out


# --- the Optuna methods, through cnnsearch's own trial path -------------------------------


class LedgerDisplay:
    """What cnnsearch's Objective tells a display, written into the ledger."""

    def __init__(self, ledger: Ledger, metric: str) -> None:
        self.ledger, self.metric = ledger, metric
        self.trial, self.params = -1, {}

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self.trial, self.params = number, dict(params)

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        self.ledger.record(self.trial, epoch, metrics.get(self.metric, math.nan), self.params)

    def __getattr__(self, name: str) -> Any:  # other display hooks: nothing to record
        return lambda *args, **kwargs: None


def run_optuna(spec: Spec, splits: Splits, ledger: Ledger, workdir: Path) -> None:
    import optuna

    from cnnsearch.reporting import SearchTracking
    from cnnsearch.search import Objective, enqueue_initial_params, open_study

    os.chdir(workdir)  # the scratch MLflow store and study journal land here
    tracker = SearchTracking(spec)
    study = open_study(spec, tracking=tracker)
    parent = tracker.open_study_run(study, {})
    enqueue_initial_params(study, spec)  # as `cnnsearch run` does: the spec's first trial, if it names one
    objective = Objective(spec, splits, tracker, parent, LedgerDisplay(ledger, spec.study.metric))
    while not ledger.exhausted():
        study.optimize(objective, n_trials=1, catch=(Exception,))
    tracker.close_study_run(parent)
    del optuna


# --- KerasTuner over the same space ------------------------------------------------------------


class HpAsTrial:
    """``suggest`` asks a trial; here KerasTuner's ``hp`` answers, so both search one space."""

    def __init__(self, hp: Any) -> None:
        self.hp = hp

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self.hp.Int(
            name, low, high, step=None if log or step == 1 else step, sampling="log" if log else "linear"
        )

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return self.hp.Float(name, low, high, step=None if log else step, sampling="log" if log else "linear")

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        choices = list(choices)
        if all(isinstance(c, bool) for c in choices):
            return self.hp.Boolean(name)
        return self.hp.Choice(name, choices)


def run_keras_tuner(kind: str, spec: Spec, splits: Splits, ledger: Ledger, workdir: Path, seed: int) -> None:
    import keras_tuner as kt

    metric = spec.study.metric

    class SpecHyperModel(kt.HyperModel):
        def build(self, hp: Any) -> keras.Model:
            params = suggest(HpAsTrial(hp), spec)
            model = build(params, splits.input_shape, splits.num_classes)
            compile_model(model, params)
            return model

        def fit(self, hp: Any, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
            params = suggest(HpAsTrial(hp), spec)
            trial_id = hp.values.get("tuner/trial_id") or id(hp)

            class Count(keras.callbacks.Callback):
                def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                    ledger.record(trial_id, epoch, (logs or {}).get(metric, math.nan), params)

            # Compiled as cnnsearch.training.fit compiles (the learning-rate schedule spans the trial's epochs).
            compile_model(model, params, math.ceil(len(splits.x_train) / params["batch_size"]), params["epochs"])
            callbacks = [
                *kwargs.pop("callbacks", []),
                *standard_callbacks(params, metric, spec.study.direction),
                Count(),
            ]
            kwargs.pop("verbose", None)
            return model.fit(*args, batch_size=params["batch_size"], callbacks=callbacks, verbose=0, **kwargs)

    def budgeted(cls: type) -> type:
        class Budgeted(cls):  # type: ignore[misc, valid-type]
            def pre_create_trial(self) -> None:
                if ledger.exhausted():
                    self.oracle.max_trials = len(self.oracle.trials)  # the oracle answers STOPPED next

        return Budgeted

    common = dict(
        objective=kt.Objective(metric, "max"),
        directory=str(workdir),
        project_name=kind,
        overwrite=True,
        seed=seed,
        max_consecutive_failed_trials=5,
    )
    if kind == "kt_hyperband":
        tuner = budgeted(kt.Hyperband)(
            SpecHyperModel(), max_epochs=spec.train.epochs, factor=3, hyperband_iterations=100, **common
        )
    else:
        tuner = budgeted(kt.BayesianOptimization)(
            SpecHyperModel(), max_trials=10_000, num_initial_points=spec.study.startup_trials, **common
        )
    tuner.search(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=spec.train.epochs,
        verbose=0,
    )


# --- the tutorial's fixed CNN ---------------------------------------------------------------------


def tutorial_model(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Conv 32-64-64 (3x3, ReLU), max pooling, Flatten, Dense 64, softmax: the seed tutorials' CNN."""
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Rescaling(1.0 / 255.0),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def run_tutorial(splits: Splits, ledger: Ledger, epochs: int) -> None:
    model = tutorial_model(splits.input_shape, splits.num_classes)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            ledger.record(0, epoch, (logs or {}).get("val_accuracy", math.nan), {"tutorial": True})

    model.fit(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=epochs,
        batch_size=32,
        callbacks=[Count()],
        verbose=0,
    )


# --- retraining the winner and testing it ----------------------------------------------------------


def test_winner(method: str, ledger: Ledger, budget: int, splits: Splits, seed: int) -> tuple[float, float]:
    """The best trial within the budget, retrained on train + validation for its epochs; (val, test accuracy)."""
    best, where = ledger.best_within(budget)
    if where is None:
        return math.nan, math.nan
    _, epoch, params = ledger.owners[where]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    if method == "tutorial":
        model = tutorial_model(splits.input_shape, splits.num_classes)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=epoch + 1, batch_size=32, verbose=0)
    else:
        model = build(params, splits.input_shape, splits.num_classes)
        fit_full(model, x, y, params, epoch + 1, [keras.callbacks.TerminateOnNaN()])
    probs = model.predict(splits.x_test, batch_size=512, verbose=0)
    return best, float(np.mean(probs.argmax(1) == splits.y_test))


# --- the whole benchmark -----------------------------------------------------------------------------


def spec_for(method: str, args: argparse.Namespace, seed: int) -> Spec:
    overrides = [
        f"data.path={args.data}",
        f"train.epochs={args.max_epochs}",
        f"study.seed={seed}",
        f"study.name=bench-{method}-{seed}",
        "study.n_trials=100000",
    ]
    if args.max_train_samples:
        overrides.append(f"data.max_train_samples={args.max_train_samples}")
    if method == "random":  # plain random search: no pruner, no hand-picked first trial
        overrides += RANDOM_SEARCH
    return load_spec(args.spec, overrides)


def run_method(method: str, args: argparse.Namespace, seed: int, splits: Splits, scratch: Path) -> dict[str, Any]:
    spec = spec_for(method, args, seed)
    ledger = Ledger(TUTORIAL_EPOCHS if method == "tutorial" else args.budget_epochs, args.budget_seconds)
    keras.utils.set_random_seed(seed)
    workdir = scratch / f"{method}-{seed}"
    workdir.mkdir(parents=True)
    here = Path.cwd()
    try:
        if method in ("cnnsearch", "random"):
            run_optuna(spec, splits, ledger, workdir)
        elif method.startswith("kt_"):
            run_keras_tuner(method, spec, splits, ledger, workdir, seed)
        else:
            run_tutorial(splits, ledger, args.tutorial_epochs)
    finally:
        os.chdir(here)
    seconds = time.perf_counter() - ledger.started
    budget = min(ledger.budget_epochs, ledger.spent)
    val, test = test_winner(method, ledger, budget, splits, seed)
    trials = len({owner for owner, _, _ in ledger.owners})
    print(
        f"  {method:<13} seed {seed}: {ledger.spent:>4} epochs, {trials:>3} trials, {seconds:7.1f}s, "
        f"best val {val:.4f}, winner's test {test:.4f}",
        flush=True,
    )
    return {
        "method": method,
        "seed": seed,
        "epochs": ledger.spent,
        "trials": trials,
        "seconds": seconds,
        "best_val": val,
        "test": test,
        "curve": ledger.curve(args.budget_epochs),
        "points": ledger.points,
    }


def budget_ratio(ours: dict[str, Any], random: dict[str, Any], budget: int) -> float:
    """Epochs cnnsearch needed to reach random search's best within the budget, over that budget."""
    target = max(random["curve"][:budget])
    for spent, value in enumerate(ours["curve"][:budget], start=1):
        if value >= target:
            return spent / budget
    return math.inf


def summarize(results: list[dict[str, Any]], methods: list[str], budget: int) -> list[str]:
    lines = [
        "| method | best val accuracy (budget) | winner's test accuracy | epochs | trials | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for method in methods:
        rows = [r for r in results if r["method"] == method]
        lines.append(
            f"| {method} | {mean_std([r['best_val'] for r in rows])} | {mean_std([r['test'] for r in rows])} | "
            f"{statistics.mean(r['epochs'] for r in rows):.0f} | {statistics.mean(r['trials'] for r in rows):.1f} | "
            f"{statistics.mean(r['seconds'] for r in rows):.0f} |"
        )
    return lines


def plot(results: list[dict[str, Any]], methods: list[str], budget: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_epochs, by_seconds) = plt.subplots(1, 2, figsize=(12, 4.5))
    for method in methods:
        rows = [r for r in results if r["method"] == method]
        curves = np.array([r["curve"][:budget] for r in rows])
        mean, std = curves.mean(0), curves.std(0)
        steps = np.arange(1, budget + 1)
        by_epochs.plot(steps, mean, label=method)
        by_epochs.fill_between(steps, mean - std, mean + std, alpha=0.15)
        for r in rows:
            seconds = [s for _, s, _ in r["points"]]
            running = np.maximum.accumulate([v if math.isfinite(v) else 0.0 for _, _, v in r["points"]])
            by_seconds.plot(
                seconds,
                running,
                alpha=0.7,
                label=method if r is rows[0] else None,
                color=by_epochs.lines[-1].get_color(),
            )
    by_epochs.set(
        xlabel="training epochs spent",
        ylabel="best validation accuracy so far",
        title="Anytime best (mean ± std over seeds)",
    )
    by_seconds.set(xlabel="seconds", title="Anytime best against wall-clock time (each seed)")
    for ax in (by_epochs, by_seconds):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def require_keras_tuner() -> None:
    """Exit with one line when KerasTuner's tuners cannot run (they import tensorboard in every trial)."""
    import importlib.util

    missing = [m for m in ("keras_tuner", "tensorboard") if importlib.util.find_spec(m) is None]
    if missing:  # fail now, not after an hour
        sys.exit(f"error: --methods kt_*: {', '.join(missing)} not installed; pip install -e '.[bench]'")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (1 seed, small budget) to check it works")
    parser.add_argument("--spec", type=Path, default=ROOT / "search_spaces" / "cifar10.toml")
    parser.add_argument("--data", type=Path, default=CIFAR)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-epochs", type=int, default=60, help="training epochs each search may spend")
    parser.add_argument("--budget-seconds", type=float, default=None, help="optional wall-clock cap per search")
    parser.add_argument("--max-epochs", type=int, default=8, help="epochs per trial at most (train.epochs)")
    parser.add_argument("--tutorial-epochs", type=int, default=TUTORIAL_EPOCHS)
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "search_efficiency")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already saved in OUT/partial.json (same arguments) and run only the missing ones",
    )
    return parser


def main() -> None:
    args = make_parser().parse_args()
    if args.quick:
        args.seeds, args.budget_epochs, args.max_epochs = 1, 6, 2
        args.tutorial_epochs, args.max_train_samples = 2, args.max_train_samples or 600
    if not (args.data / "data_batch_1").is_file():
        sys.exit(f"error: {args.data}: no CIFAR-10 batches (see ../shared/data/cifar10-subset/README)")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        sys.exit(f"error: --methods: unknown {unknown[0]!r}; choose from {', '.join(METHODS)}")

    if any(m.startswith("kt_") for m in methods):
        require_keras_tuner()
    base = spec_for("cnnsearch", args, 0)
    splits = load(base.data, seed=42)  # one split for every method and seed
    print(
        f"CIFAR-10 subset: {len(splits.x_train)} train, {len(splits.x_val)} val, {len(splits.x_test)} test; "
        f"budget {args.budget_epochs} epochs per search, trials up to {args.max_epochs} epochs; "
        f"{base.study.sampler} + {base.study.pruner} for cnnsearch; Keras {BACKEND}",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    arguments = {k: str(v) for k, v in vars(args).items()}
    partial = args.out / "partial.json"  # every finished (method, seed), so a stopped run can --resume
    results = json.loads(partial.read_text())["results"] if args.resume and partial.is_file() else []
    done = {(r["method"], r["seed"]) for r in results}
    if done:
        print(f"resuming: {len(done)} (method, seed) runs already in {partial}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cnnsearch-bench-") as scratch:
        for seed in range(args.seeds):
            for method in methods:
                if (method, seed) in done:
                    continue
                results.append(run_method(method, args, seed, splits, Path(scratch)))
                partial.write_text(json.dumps({"args": arguments, "results": results}))
    results = [r for r in results if r["method"] in methods and r["seed"] < args.seeds]

    table = summarize(results, methods, args.budget_epochs)
    ratios = []
    if "cnnsearch" in methods and "random" in methods:
        for seed in range(args.seeds):
            ours = next(r for r in results if r["method"] == "cnnsearch" and r["seed"] == seed)
            theirs = next(r for r in results if r["method"] == "random" and r["seed"] == seed)
            ratios.append(budget_ratio(ours, theirs, args.budget_epochs))
    plot(
        results,
        [m for m in methods if m != "tutorial"] + (["tutorial"] if "tutorial" in methods else []),
        args.budget_epochs,
        args.out / "anytime.png",
    )
    (args.out / "results.json").write_text(
        json.dumps(
            {
                "args": arguments,
                "results": results,
                "budget_ratios": ratios,
                "keras": keras.__version__,
                "backend": BACKEND,
            },
            indent=1,
        )
    )
    print("\n".join(table))
    print(f"budget ratios per seed: {', '.join(f'{r:.2f}' for r in ratios)}; plot: {args.out / 'anytime.png'}")
    finite = [r for r in ratios if math.isfinite(r)]
    ratio = statistics.mean(ratios) if ratios and len(finite) == len(ratios) else math.inf
    print(f"budget_ratio={ratio:.3f}" if math.isfinite(ratio) else "budget_ratio=inf")


if __name__ == "__main__":
    main()
