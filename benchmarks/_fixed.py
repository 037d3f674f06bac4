"""The fixed trial the speed benchmarks share: one small CNN, constant params, the CIFAR-10 subset.

Every tunable in the spec is a constant, so a study "searches" one point: the
cnnsearch trial path and a bare Keras loop train exactly the same model on the
same data. The data is the CIFAR-10 subset in ``../shared/data`` (5,170 training
images); without it, scikit-learn's digits.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CIFAR_SUBSET = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"


#: A plain random search, the baseline: the random sampler, no pruner, no hand-picked first trial or
#: trials around it, one validation split. Every benchmark's random baseline uses these overrides.
RANDOM_SEARCH = [
    "study.sampler=random",
    "study.pruner=none",
    "study.initial_params={}",
    "study.initial_neighbours=0",
    "study.neighbour_params=[]",
    "study.folds=1",
]


def cifar_path() -> Path | None:
    """The CIFAR-10 subset folder ($CNNSEARCH_BENCH_CIFAR overrides), or None when absent."""
    path = Path(os.environ.get("CNNSEARCH_BENCH_CIFAR", CIFAR_SUBSET))
    return path if (path / "data_batch_1").is_file() else None


def spec_dict(
    name: str, epochs: int, n_trials: int = 1000, max_train_samples: int | None = None, **performance: Any
) -> dict[str, Any]:
    """A spec whose tunables are all constants: 2 conv blocks of 32 and 64 filters, batch norm, adam."""
    path = cifar_path()
    data: dict[str, Any] = {"dataset": "cifar10", "path": str(path)} if path else {"dataset": "digits"}
    data["validation_split"] = 0.1
    if max_train_samples:
        data["max_train_samples"] = max_train_samples
    return {
        "study": {
            "name": name,
            "n_trials": n_trials,
            "sampler": "random",
            "pruner": "none",
            "seed": 7,
            "keep_top_k": 3,
        },
        "data": data,
        "model": {
            "blocks": 2,
            "filters": 32,
            "filter_growth": 2.0,
            "kernel_size": 3,
            "batch_norm": True,
            "dropout": 0.2,
            "dense_units": 0,
            "head": "global_average",
        },
        "train": {
            "epochs": epochs,
            "batch_size": 64,
            "learning_rate": 1e-3,
            "optimizer": "adam",
            # Never stops early: both paths run every epoch (the callbacks still run each epoch).
            "early_stopping_patience": epochs + 1,
            "reduce_lr_patience": 3,
        },
        "performance": performance,
    }


def params_of(spec: Any) -> dict[str, Any]:
    """The fixed params (all constants: no study needed)."""
    import optuna

    from cnnsearch.search import suggest

    return suggest(optuna.trial.FixedTrial({}), spec)


def versions() -> str:
    """One line: the versions that matter for speed figures."""
    import keras

    parts = [f"Python {sys.version.split()[0]}", f"Keras {keras.__version__} ({keras.backend.backend()})"]
    for module in ("tensorflow", "jax", "torch", "optuna", "mlflow"):
        loaded = sys.modules.get(module)
        if loaded is not None:
            parts.append(f"{module} {getattr(loaded, '__version__', '?')}")
    cpu = os.cpu_count()
    return ", ".join(parts) + f"; {platform.machine()} {cpu} CPUs, load {os.getloadavg()[0]:.1f}"


def mean_std(values: list[float]) -> str:
    """``mean ± std`` of the finite values, 4 decimals (one value alone; ``n/a`` for none)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"
