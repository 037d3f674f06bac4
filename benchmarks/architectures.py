"""Residual vs plain search spaces on the CIFAR-10 subset, at equal epochs and trials.

Both spaces share everything but the architecture: the same data (the real CIFAR-10
subset in ``../shared/data/cifar10-subset``), trials, epochs per trial (no pruning, no
early stopping, so every trial trains every epoch), sampler and seed, [train] and
[augment] settings. Each study runs through cnnsearch's real path (Optuna, callbacks,
MLflow into a scratch folder); then ``export`` retrains its best trial on train +
validation for the epochs that trial used and measures held-out test accuracy once.

The last line printed is ``residual_minus_plain_test_accuracy=<x>`` (percentage points).

    .venv/bin/python benchmarks/architectures.py --quick
    .venv/bin/python benchmarks/architectures.py --trials 6 --epochs 15
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

import cnnsearch  # noqa: E402
from cnnsearch.export import export_best  # noqa: E402  (the export layer's own; cnnsearch.export_best wraps it)
from cnnsearch.spec import validate_spec  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"

#: The two spaces: only [model] differs. Sizes are comparable (tens to a few hundred thousand weights).
SPACES: dict[str, dict[str, Any]] = {
    "plain": {
        "architecture": "plain",
        "blocks": {"low": 2, "high": 3},
        "filters": {"choices": [32, 64]},
        "convs_per_block": {"choices": [1, 2]},
        "kernel_size": 3,
        "batch_norm": {"choices": [True, False]},
        "dropout": {"low": 0.0, "high": 0.3},
        "dense_units": {"choices": [0, 128]},
    },
    "residual": {
        "architecture": "residual",
        "residual": {
            "stages": {"low": 2, "high": 3},
            "blocks_per_stage": {"low": 1, "high": 2},
            "width": {"choices": [16, 32]},
            "dropout": {"low": 0.0, "high": 0.3},
            "dense_units": {"choices": [0, 128]},
        },
    },
}


def spec_for(name: str, args: argparse.Namespace) -> Any:
    raw = {
        "study": {
            "name": f"arch-{name}",
            "n_trials": args.trials,
            "sampler": "tpe",
            "startup_trials": max(1, args.trials // 2),
            "pruner": "none",
            "seed": args.seed,
            "keep_top_k": 0,
        },
        "data": {"dataset": "cifar10", "path": str(args.data), "validation_split": 0.1},
        "model": SPACES[name],
        "train": {
            "epochs": args.epochs,
            "batch_size": 64,
            "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
            "optimizer": "adam",
            "early_stopping_patience": 0,
            "reduce_lr_patience": 0,
            "lr_schedule": "cosine",
        },
        "augment": {"flip": "horizontal", "translation": 0.1},
    }
    return validate_spec(raw, source=f"<{name} space>")


def run_space(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    spec = spec_for(name, args)
    os.chdir(workdir)
    started = time.perf_counter()
    study = cnnsearch.run(spec, progress=False)  # silent, in this process
    search_s = time.perf_counter() - started
    result = export_best(spec, formats=["keras"], say=lambda line: None)
    card = result.card
    return {
        "space": name,
        "trials": len(study.trials),
        "best_val_accuracy": float(study.best_value),
        "test_accuracy": float(card["test"]["accuracy"]),
        "test_macro_f1": float(card["test"]["macro_f1"]),
        "retrain_epochs": int(card["training"]["epochs"]),
        "param_count": int(card["model"]["param_count"]),
        "best_params": {k: v for k, v in study.best_params.items()},
        "search_s": round(search_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials x 6 epochs per space (~15 min on 2 CPU cores)")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=CIFAR)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 3, 6
    if not args.data.is_dir():
        sys.exit(f"error: no CIFAR-10 batches at {args.data} (pass --data)")

    import keras
    import optuna

    print(
        f"backend {BACKEND}, keras {keras.__version__}, optuna {optuna.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.trials} trials x {args.epochs} epochs per space, seed {args.seed}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="cnnsearch-arch-") as tmp:
        for name in SPACES:
            rows.append(run_space(name, args, Path(tmp)))
            row = rows[-1]
            print(
                f"{name:<9} best val {row['best_val_accuracy']:.4f}  test {row['test_accuracy']:.4f}  "
                f"macro F1 {row['test_macro_f1']:.4f}  params {row['param_count']:,}  retrain {row['retrain_epochs']} ep  "
                f"{row['total_s']:.0f}s  {json.dumps(row['best_params'])}",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=2))
    by = {row["space"]: row for row in rows}
    diff = 100 * (by["residual"]["test_accuracy"] - by["plain"]["test_accuracy"])
    print(f"residual_minus_plain_test_accuracy={diff:+.2f}")


if __name__ == "__main__":
    main()
