"""Accuracy against latency: cnnsearch's pruned multi-objective search vs unpruned vs random search.

Every method searches the space of ``search_spaces/cifar10_edge.toml`` (objectives
``val_accuracy`` and ``latency_ms``, hard limit ``max_latency_ms``) under the same budget of
training epochs, counted epoch by epoch over the whole search (a pruned trial spends what
it ran, a trial over the limit spends nothing). Methods, all through cnnsearch's real trial
path (Optuna study, callbacks, cost measurement, MLflow tracking into a scratch store):

- ``pruned``: the spec as shipped: multi-objective TPE and the cost-group pruning rule
  (``search/_cost_pruning.py``, the spec's pruner applied among trials that cost no more);
- ``unpruned``: the same with ``pruner = "none"``;
- ``random``: Optuna's RandomSampler, no pruner.

A method's front counts the complete trials that finished within the budget and within
the hard limit. Its hypervolume is measured on normalized objectives, with one reference
point for every method: error ``1 - val_accuracy`` in [0, 1] and ``latency_ms /
max_latency_ms`` (feasible trials are in [0, 1]), reference point (1, 1); larger is better,
1.0 would be a perfect network at zero latency. The last line printed is
``hypervolume_ratio=<x>``: the pruned search's mean hypervolume over random search's.

    .venv/bin/python benchmarks/pareto.py --quick          # digits, 1 seed, a few minutes on 2 cores
    .venv/bin/python benchmarks/pareto.py                  # CIFAR-10 subset, 3 seeds
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
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnsearch._runtime import load_keras  # noqa: E402

BACKEND = load_keras()

import keras  # noqa: E402

from _fixed import RANDOM_SEARCH, mean_std, versions  # noqa: E402
from cnnsearch._keys import INFEASIBLE_ATTR  # noqa: E402
from cnnsearch.data import Splits, load  # noqa: E402
from cnnsearch.search import feasible  # noqa: E402
from cnnsearch.spec import Spec, limits, load_spec  # noqa: E402
from cnnsearch.training import device_name  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"
SPEC = ROOT / "search_spaces" / "cifar10_edge.toml"
METHODS = ("pruned", "unpruned", "random")
FULL = {"seeds": 3, "budget_epochs": 100, "max_epochs": 10, "max_latency_ms": 5.0, "startup_trials": 4}
QUICK = {"seeds": 1, "budget_epochs": 40, "max_epochs": 6, "max_latency_ms": 2.0, "startup_trials": 3}


class EpochLedger:
    """What cnnsearch's Objective tells a display: every epoch trained, by trial, in order."""

    def __init__(self) -> None:
        self.spent = 0
        self.by_trial: dict[int, int] = {}
        self.trial = -1

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self.trial = number
        self.by_trial.setdefault(number, 0)

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        self.spent += 1
        self.by_trial[self.trial] = self.by_trial.get(self.trial, 0) + 1

    def __getattr__(self, name: str) -> Any:  # other display hooks: nothing to record
        return lambda *args, **kwargs: None


def spec_for(method: str, args: argparse.Namespace, seed: int) -> Spec:
    overrides = [
        f"train.epochs={args.max_epochs}",
        f"study.seed={seed}",
        f"study.name=pareto-{method}-{seed}",
        "study.n_trials=100000",
        f"study.startup_trials={args.startup_trials}",
        f"study.max_latency_ms={args.max_latency_ms}",
    ]
    if args.quick:
        overrides += ["data.dataset=digits", "data.validation_split=0.15"]
    else:
        overrides.append(f"data.path={args.data}")
    if args.max_train_samples:
        overrides.append(f"data.max_train_samples={args.max_train_samples}")
    if method == "unpruned":
        overrides.append("study.pruner=none")
    if method == "random":
        overrides += RANDOM_SEARCH
    return load_spec(args.spec, overrides)


def run_method(method: str, args: argparse.Namespace, seed: int, splits: Splits, scratch: Path) -> dict[str, Any]:
    """One search until its epoch budget is spent; its trials, the front within the budget and its hypervolume."""
    from cnnsearch.reporting import SearchTracking
    from cnnsearch.search import Objective, open_study

    spec = spec_for(method, args, seed)
    workdir = scratch / f"{method}-{seed}"
    workdir.mkdir(parents=True)
    here = Path.cwd()
    ledger = EpochLedger()
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    ended_at: dict[int, int] = {}  # trial -> epochs spent by the whole search when it ended
    try:
        os.chdir(workdir)  # the scratch MLflow store and study journal land here
        tracker = SearchTracking(spec)
        study = open_study(spec, tracking=tracker)
        parent = tracker.open_study_run(study, {})
        objective = Objective(spec, splits, tracker, parent, ledger)
        while ledger.spent < args.budget_epochs:
            study.optimize(objective, n_trials=1, catch=(Exception,))
            ended_at[study.trials[-1].number] = ledger.spent
        tracker.close_study_run(parent)
    finally:
        os.chdir(here)
    seconds = time.perf_counter() - started
    if seed == 0:  # what each method found, drawn as the report and MLflow draw it
        from cnnsearch.reporting import plot_front

        plot_front(study, spec, args.out / f"{'quick' if args.quick else 'full'}-{method}-front.png")
    limit = limits(spec.study)["latency_ms"]
    trials = study.get_trials(deepcopy=False)
    within = [
        t
        for t in trials
        if t.state.name == "COMPLETE" and t.values and feasible(t) and ended_at.get(t.number, 0) <= args.budget_epochs
    ]
    points = [(1.0 - t.values[0], t.values[1] / limit) for t in within]
    infeasible = [t for t in trials if INFEASIBLE_ATTR in t.user_attrs]
    result = {
        "method": method,
        "seed": seed,
        "epochs": ledger.spent,
        "seconds": seconds,
        "trials": len(trials),
        "complete": sum(t.state.name == "COMPLETE" for t in trials),
        "pruned": sum(t.state.name == "PRUNED" and INFEASIBLE_ATTR not in t.user_attrs for t in trials),
        "infeasible": len(infeasible),
        "infeasible_epochs": sum(ledger.by_trial.get(t.number, 0) for t in infeasible),
        "failed": sum(t.state.name == "FAIL" for t in trials),
        "points": [[t.number, t.values[0], t.values[1]] for t in within],
        "front": [[t.number, t.values[0], t.values[1]] for t in within if _on_front(t, within)],
        "hypervolume": hypervolume(points),
        "best_accuracy": max((t.values[0] for t in within), default=math.nan),
    }
    print(
        f"  {method:<9} seed {seed}: {result['epochs']:>4} epochs, {result['trials']:>3} trials "
        f"({result['complete']} complete, {result['pruned']} pruned, {result['infeasible']} over the limit, "
        f"{result['infeasible_epochs']} epochs on those), {seconds:7.1f}s, front of {len(result['front'])}, "
        f"hypervolume {result['hypervolume']:.4f}",
        flush=True,
    )
    return result


def _on_front(trial: Any, trials: list[Any]) -> bool:
    acc, lat = trial.values
    return not any(
        (o.values[0] >= acc and o.values[1] <= lat) and (o.values[0] > acc or o.values[1] < lat) for o in trials
    )


def hypervolume(points: list[tuple[float, float]], reference: tuple[float, float] = (1.0, 1.0)) -> float:
    """The area dominated by 2-D points (both minimized) and bounded by ``reference``."""
    inside = sorted((x, y) for x, y in points if x < reference[0] and y < reference[1])
    area, lowest = 0.0, reference[1]
    for x, y in inside:  # by error ascending: each point adds the strip below the lowest latency so far
        if y < lowest:
            area += (reference[0] - x) * (lowest - y)
            lowest = y
    return area


def summarize(results: list[dict[str, Any]], methods: list[str]) -> list[str]:
    lines = [
        "| method | hypervolume | best val accuracy | front size | epochs used | trials (complete / pruned / over limit) "
        "| epochs on over-limit trials | wall time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        rows = [r for r in results if r["method"] == method]
        counts = " / ".join(f"{statistics.mean(r[k] for r in rows):.1f}" for k in ("complete", "pruned", "infeasible"))
        lines.append(
            f"| {method} | {mean_std([r['hypervolume'] for r in rows])} | {mean_std([r['best_accuracy'] for r in rows])} "
            f"| {statistics.mean(len(r['front']) for r in rows):.1f} | {statistics.mean(r['epochs'] for r in rows):.0f} "
            f"| {counts} | {sum(r['infeasible_epochs'] for r in rows)} | {statistics.mean(r['seconds'] for r in rows):.0f} |"
        )
    return lines


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="digits, 1 seed, a small budget: a few minutes")
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--data", type=Path, default=CIFAR)
    parser.add_argument("--seeds", type=int, help="default 3 (--quick: 1)")
    parser.add_argument("--budget-epochs", type=int, help="training epochs each search may spend (100; --quick: 40)")
    parser.add_argument("--max-epochs", type=int, help="epochs per trial at most, train.epochs (10; --quick: 6)")
    parser.add_argument("--max-latency-ms", type=float, help="the hard limit and the latency scale (5; --quick: 2)")
    parser.add_argument("--startup-trials", type=int, help="random trials before TPE (4; --quick: 3)")
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pareto")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = make_parser().parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main() -> None:
    args = parse_args()
    if not args.quick and not (args.data / "data_batch_1").is_file():
        sys.exit(f"error: {args.data}: no CIFAR-10 batches (see ../shared/data/cifar10-subset/README)")
    base = spec_for("pruned", args, 0)
    splits = load(base.data, seed=42)  # one split for every method and seed
    print(
        f"{base.data.dataset}: {len(splits.x_train)} train, {len(splits.x_val)} val; budget {args.budget_epochs} "
        f"epochs per search, trials up to {args.max_epochs} epochs, max_latency_ms {args.max_latency_ms:g}; "
        f"pruned: {base.study.sampler} + {base.study.pruner} among trials costing no more",
        flush=True,
    )
    print(f"{versions()}; latency on {device_name()}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="cnnsearch-pareto-") as scratch:
        for seed in range(args.seeds):
            for method in METHODS:
                results.append(run_method(method, args, seed, splits, Path(scratch)))
    arguments = {k: str(v) for k, v in vars(args).items()}
    (args.out / ("quick.json" if args.quick else "results.json")).write_text(
        json.dumps({"args": arguments, "results": results, "versions": versions()}, indent=1)
    )
    print("\n".join(summarize(results, list(METHODS))))
    means = {m: statistics.mean(r["hypervolume"] for r in results if r["method"] == m) for m in METHODS}
    print(f"pruned/unpruned hypervolume ratio {means['pruned'] / means['unpruned']:.3f}" if means["unpruned"] else "")
    ratio = means["pruned"] / means["random"] if means["random"] > 0 else math.inf
    print(f"hypervolume_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
