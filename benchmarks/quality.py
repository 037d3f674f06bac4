"""Quality of what cnnsearch ships, against what a user could get otherwise in the same time.

One table per dataset, every row measured in this run, test accuracy on the held-out
split (mean +- std over seeds):

- ``cnnsearch: <rule>``: the shipped spec searched by ``cnnsearch.run`` exactly as a user
  runs it, then each shipping rule of ``[export] ship`` applied to that one study:
  ``retrain`` (the best trial retrained on train + validation), ``checkpoint`` (its kept
  weights) and ``ensemble`` (the mean of the top kept checkpoints, or with ``study.folds``
  the best trial's fold models); the row marked ``(default)`` is what
  ``cnnsearch best --export`` ships;
- ``SVC on pixels`` (digits): scikit-learn's ``SVC(C=10)`` on flattened pixels;
- ``tutorial CNN``: conv 32-64-64 (3x3, same padding), dense 64, Adam, 10 epochs, on train + validation;
- ``KerasTuner Hyperband`` and ``random search``: the same space under the same wall-clock
  budget as the cnnsearch search, their winner retrained on train + validation.

Datasets: ``digits`` (``search_spaces/digits.toml``, the offline demo; seed 42 is the demo
itself) and ``cifar10`` (``search_spaces/cifar10.toml`` on ``../shared/data/cifar10-subset``
under a ``study.timeout`` of 20 minutes). Results are saved after every (dataset, method,
seed) in ``OUT/partial.json``; ``--resume`` keeps them. The last line is
``quality_margin=<x>``: the default export minus the best non-cnnsearch row, in test
points, on the worst dataset.

    .venv/bin/python benchmarks/quality.py --quick                      # about 10 minutes
    .venv/bin/python benchmarks/quality.py --datasets digits --seeds 3  # about 15 minutes
    .venv/bin/python benchmarks/quality.py --resume                     # everything, about 2.5 hours

The KerasTuner row needs ``pip install -e '.[bench]'`` (KerasTuner imports tensorboard).
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import cnnsearch  # noqa: E402
from _fixed import RANDOM_SEARCH, mean_std  # noqa: E402
from cnnsearch._keys import EPOCHS_RUN_ATTR, FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, INITIAL_ATTR  # noqa: E402
from cnnsearch.data import Splits, load  # noqa: E402
from cnnsearch.export import MIRRORED, ship, wants_flips, with_flips  # noqa: E402
from cnnsearch.models import build  # noqa: E402
from cnnsearch.spec import load_spec  # noqa: E402
from cnnsearch.training import fit_full  # noqa: E402
from search_efficiency import Ledger, require_keras_tuner, run_keras_tuner, run_optuna  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"
RULES = ("retrain", "checkpoint", "ensemble")
BASELINES = ("svc", "tutorial", "kt_hyperband", "random")
LABELS = {
    "svc": "SVC on pixels",
    "tutorial": "tutorial CNN",
    "kt_hyperband": "KerasTuner Hyperband",
    "random": "random search",
}


def dataset_spec(name: str, args: argparse.Namespace) -> tuple[Path, list[str]]:
    """The shipped spec and the overrides this benchmark adds (quick mode shrinks them)."""
    if name == "digits":
        overrides = ["study.n_trials=6", "train.epochs=8"] if args.quick else []
        return ROOT / "search_spaces" / "digits.toml", [*overrides, *args.extra]
    overrides = [f"data.path={CIFAR}", f"study.timeout={args.timeout}"]
    if args.quick:
        overrides += ["data.max_train_samples=1500"]
    return ROOT / "search_spaces" / "cifar10.toml", [*overrides, *args.extra]


def accuracy(model: keras.Model, splits: Splits) -> float:
    probs = np.asarray(model.predict(splits.x_test, batch_size=256, verbose=0))
    return float(np.mean(probs.argmax(1) == splits.y_test))


def run_cnnsearch(name: str, seed: int, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """One search as a user runs it, then every shipping rule on the same study."""
    path, overrides = dataset_spec(name, args)
    overrides = [*overrides, f"study.seed={seed}", f"study.name=quality-{name}-{seed}"]
    work = scratch / f"{name}-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    started = time.perf_counter()
    study = cnnsearch.run(path, overrides=overrides, progress=False)
    search_s = time.perf_counter() - started
    spec = load_spec(path, overrides)
    splits = load(spec.data, seed=spec.study.seed)
    best = study.best_trial
    row: dict[str, Any] = {
        "search_s": search_s,
        "trials": len(study.trials),
        "best_val": best.value,
        "best_trial": best.number,
        "default": spec.export.ship,
        **against_initial(study),
    }
    plain = spec.model_copy(update={"export": spec.export.model_copy(update={"test_time_flips": "off"})})
    for rule in args.rules.split(","):
        keras.backend.clear_session()
        started = time.perf_counter()
        shipped = ship(plain, study, splits, lambda line: None, rule=rule)
        row[rule] = accuracy(shipped.model, splits)
        row[f"{rule}_s"] = time.perf_counter() - started
        row[f"{rule}_shipped"] = shipped.description
        if shipped.params.get("flip", "none") in MIRRORED or spec.export.test_time_flips == "on":
            # Both ways on the same members: [export] test_time_flips decides which one ships.
            row[f"{rule}_no_flips"], row[f"{rule}_flips"] = row[rule], accuracy(with_flips(shipped.model), splits)
            if wants_flips(spec, shipped.params):
                row[rule] = row[f"{rule}_flips"]
                row[f"{rule}_shipped"] += " with test-time flips"
    for size in (
        range(2, spec.study.keep_top_k + 1) if spec.study.folds == 1 else ()
    ):  # every ensemble size the kept checkpoints allow
        keras.backend.clear_session()
        sized = spec.model_copy(update={"export": spec.export.model_copy(update={"ensemble_size": size})})
        row[f"ensemble_{size}"] = accuracy(ship(sized, study, splits, lambda line: None, rule="ensemble").model, splits)
    if spec.study.folds == 1 and args.rerank:  # [export] rerank: the best trials cross-validated at export
        keras.backend.clear_session()
        reranked = spec.model_copy(update={"export": spec.export.model_copy(update={"rerank": args.rerank})})
        started = time.perf_counter()
        row["rerank"] = accuracy(ship(reranked, study, splits, lambda line: None, rule="ensemble").model, splits)
        row["rerank_s"] = time.perf_counter() - started
        row["rerank_n"] = args.rerank
    for count in range(2, spec.study.keep_top_k + 1) if spec.study.folds > 1 else ():  # export.fold_trials
        keras.backend.clear_session()
        wider = spec.model_copy(update={"export": spec.export.model_copy(update={"fold_trials": count})})
        row[f"fold_trials_{count}"] = accuracy(
            ship(wider, study, splits, lambda line: None, rule="ensemble").model, splits
        )
    if spec.study.folds > 1:  # the top trials' fold-0 checkpoints, as an ensemble without folds ships
        keras.backend.clear_session()
        single = spec.model_copy(update={"study": spec.study.model_copy(update={"folds": 1})})
        row["top_checkpoints"] = accuracy(ship(single, study, splits, lambda line: None, rule="ensemble").model, splits)
    print(
        f"  {name} seed {seed}: search {search_s:.0f}s, best val {best.value:.4f}, "
        + ", ".join(f"{r} {row[r]:.4f}" for r in RULES if r in row),
        flush=True,
    )
    return row


def against_initial(study: Any) -> dict[str, Any]:
    """The first trial (``initial_params``) against the best other trial at the same schedule.

    The final training of ``study.final_share`` is left out of ``best_explored``: it trains
    the winner's params on a longer schedule, so it is compared with nothing but reported.
    """
    done = [t for t in study.trials if t.state.name == "COMPLETE" and t.value is not None]
    initial = [t for t in done if t.user_attrs.get(INITIAL_ATTR)]
    explored = [t for t in done if FINAL_EPOCHS_ATTR not in t.user_attrs and not t.user_attrs.get(INITIAL_ATTR)]
    finals = [t for t in done if FINAL_EPOCHS_ATTR in t.user_attrs]
    row: dict[str, Any] = {"complete": len(done), "pruned": sum(t.state.name == "PRUNED" for t in study.trials)}
    if initial:
        row["initial_val"] = initial[0].value
    if explored:
        top = max(explored, key=lambda t: t.value)
        row["best_explored_val"], row["best_explored_trial"] = top.value, top.number
    if finals:
        row["final_val"], row["final_of"] = finals[0].value, finals[0].user_attrs.get(FINAL_OF_ATTR)
        row["final_epochs"] = finals[0].user_attrs.get(EPOCHS_RUN_ATTR)
    if "initial_val" in row and "best_explored_val" in row:
        row["beats_initial"] = row["best_explored_val"] > row["initial_val"]
    return row


def tutorial_model(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """The seed tutorials' CNN, with same padding so that 8x8 digits fit too."""
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Rescaling(1.0 / 255.0),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def run_baseline(
    method: str, name: str, seed: int, args: argparse.Namespace, budget_s: float, scratch: Path
) -> dict[str, Any]:
    path, overrides = dataset_spec(name, args)
    spec = load_spec(path, [*overrides, f"study.seed={seed}", f"study.name=baseline-{method}-{name}-{seed}"])
    splits = load(spec.data, seed=spec.study.seed)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    started = time.perf_counter()
    if method == "svc":
        from sklearn.svm import SVC

        model = SVC(C=10).fit(x.reshape(len(x), -1) / 255.0, y)
        test = float(np.mean(model.predict(splits.x_test.reshape(len(splits.x_test), -1) / 255.0) == splits.y_test))
        return {"test": test, "seconds": time.perf_counter() - started}
    if method == "tutorial":
        model = tutorial_model(splits.input_shape, splits.num_classes)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=10, batch_size=32, verbose=0)
        return {"test": accuracy(model, splits), "seconds": time.perf_counter() - started}
    work = scratch / f"{method}-{name}-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(budget_epochs=10**9, budget_seconds=budget_s)
    if method == "random":
        random_spec = load_spec(
            path,
            [
                *overrides,
                f"study.seed={seed}",
                f"study.name=random-{name}-{seed}",
                *RANDOM_SEARCH,
            ],
        )
        run_optuna(random_spec, splits, ledger, work)
        spec = random_spec
    else:
        run_keras_tuner(method, spec, splits, ledger, work, seed)
    best, where = ledger.best_within(10**9)
    if where is None:
        return {"test": math.nan, "seconds": time.perf_counter() - started}
    _, epoch, params = ledger.owners[where]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build(params, splits.input_shape, splits.num_classes)
    fit_full(model, x, y, params, epoch + 1, [keras.callbacks.TerminateOnNaN()])
    return {"test": accuracy(model, splits), "best_val": best, "seconds": time.perf_counter() - started}


def table(name: str, results: dict[str, Any]) -> tuple[list[str], float]:
    """The dataset's table, and the default export's margin over the best baseline (test points)."""
    ours = [v for k, v in results.items() if k.startswith(f"{name}/cnnsearch/")]
    lines = [f"\n{name}: test accuracy (mean +- std over seeds)", "| row | test accuracy | seeds |", "|---|---|---|"]
    default = ours[0]["default"] if ours else "retrain"
    for rule in RULES:
        if ours and all(rule in r for r in ours):
            mark = " (default)" if rule == default else ""
            lines.append(f"| cnnsearch: {rule}{mark} | {mean_std([r[rule] for r in ours])} | {len(ours)} |")
    for rule in RULES:
        for variant, label in (("flips", "with test-time flips"), ("no_flips", "without test-time flips")):
            if ours and all(f"{rule}_{variant}" in r for r in ours):
                lines.append(
                    f"| cnnsearch: {rule}, {label} | {mean_std([r[f'{rule}_{variant}'] for r in ours])} | {len(ours)} |"
                )
    for size in range(2, 11):
        if ours and all(f"ensemble_{size}" in r for r in ours):
            lines.append(
                f"| cnnsearch: ensemble of {size} | {mean_std([r[f'ensemble_{size}'] for r in ours])} | {len(ours)} |"
            )
    for count in range(2, 11):
        if ours and all(f"fold_trials_{count}" in r for r in ours):
            lines.append(
                f"| cnnsearch: fold models of the {count} best trials | "
                f"{mean_std([r[f'fold_trials_{count}'] for r in ours])} | {len(ours)} |"
            )
    if ours and all("rerank" in r for r in ours):
        lines.append(
            f"| cnnsearch: ensemble after `rerank = {ours[0].get('rerank_n', '?')}` (5 folds) | "
            f"{mean_std([r['rerank'] for r in ours])} | {len(ours)} |"
        )
    if ours and all("top_checkpoints" in r for r in ours):
        lines.append(
            f"| cnnsearch: top trials' fold-0 checkpoints | {mean_std([r['top_checkpoints'] for r in ours])} | {len(ours)} |"
        )
    best_other = -math.inf
    for method in BASELINES:
        runs = [v for k, v in results.items() if k.startswith(f"{name}/{method}/")]
        if runs:
            lines.append(f"| {LABELS[method]} | {mean_std([r['test'] for r in runs])} | {len(runs)} |")
            best_other = max(best_other, statistics.mean(r["test"] for r in runs if math.isfinite(r["test"])))
    # The default rule's figure (with --rules leaving it out: nothing measured as shipped).
    exported = statistics.mean(r[default] for r in ours) if ours and all(default in r for r in ours) else math.nan
    margin = (exported - best_other) * 100 if math.isfinite(best_other) else math.nan
    if ours:
        secs = statistics.mean(r["search_s"] for r in ours)
        lines.append(
            f"search wall time {secs:.0f} s per seed; export rule times (s): "
            + ", ".join(
                f"{r} {statistics.mean(x[f'{r}_s'] for x in ours):.1f}"
                for r in RULES
                if all(f"{r}_s" in x for x in ours)
            )
        )
        compared = [r for r in ours if "beats_initial" in r]
        if compared:
            lines.append(
                f"best explored trial beats the initial_params trial (same schedule): "
                f"{sum(r['beats_initial'] for r in compared)} of {len(compared)} seeds; "
                + "; ".join(
                    f"initial {r['initial_val']:.4f} / explored {r['best_explored_val']:.4f}"
                    + (f" / final {r['final_val']:.4f} ({r.get('final_epochs')} epochs)" if "final_val" in r else "")
                    for r in compared
                )
            )
    return lines, margin


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small searches, 1 seed, short baselines")
    parser.add_argument("--datasets", default="digits,cifar10")
    parser.add_argument("--seeds", type=int, default=3, help="cnnsearch seeds (baselines: 1, except svc and tutorial)")
    parser.add_argument("--timeout", default="20m", help="cifar10: study.timeout, and the baselines' budget")
    parser.add_argument("--methods", default=",".join(("cnnsearch", *BASELINES)))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "quality")
    parser.add_argument("--resume", action="store_true", help="keep the results already in OUT/partial.json")
    parser.add_argument("--rules", default=",".join(RULES), help="the shipping rules to measure (comma-separated)")
    parser.add_argument("--rerank", type=int, default=0, help="also measure [export] rerank = N (one-split studies)")
    parser.add_argument(
        "--set",
        dest="extra",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="an override for every search and baseline, to measure a variant (repeatable)",
    )
    return parser


def main() -> None:
    args = make_parser().parse_args()
    if args.quick:
        args.seeds, args.timeout = 1, "3m"
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "partial.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if args.resume and saved.exists() else {}
    methods = args.methods.split(",")
    if "kt_hyperband" in methods:
        require_keras_tuner()
    seeds = [42 + i for i in range(args.seeds)]
    scratch = Path(tempfile.mkdtemp(prefix="cnnsearch-quality-"))
    home = Path.cwd()
    for name in args.datasets.split(","):
        for method in methods:
            if method == "svc" and name != "digits":
                continue
            for seed in seeds if method in ("cnnsearch", "svc", "tutorial") else seeds[:1]:
                key = f"{name}/{method}/{seed}"
                if key in results:
                    continue
                print(f"{key} ...", flush=True)
                if method == "cnnsearch":
                    results[key] = run_cnnsearch(name, seed, args, scratch)
                else:
                    ours = [v for k, v in results.items() if k.startswith(f"{name}/cnnsearch/")]
                    budget = statistics.mean(r["search_s"] for r in ours) if ours else 120.0
                    results[key] = run_baseline(method, name, seed, args, budget, scratch)
                    print(f"  {key}: test {results[key]['test']:.4f}", flush=True)
                os.chdir(home)
                saved.write_text(json.dumps(results, indent=1))
    margins = []
    for name in args.datasets.split(","):
        lines, margin = table(name, results)
        print("\n".join(lines))
        margins.append(margin)
    print(f"versions: keras {keras.__version__} ({keras.backend.backend()}), cnnsearch {cnnsearch.__version__}")
    print(f"quality_margin={min(margins):+.2f}")


if __name__ == "__main__":
    main()
