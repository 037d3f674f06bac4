"""Training images/s of residual trunks on CIFAR-shaped images: what a stem that halves the image buys.

Each row builds the network ``cnnsearch.models.build`` makes for these params (the shipped
first trial of ``cifar10.toml``, with one change per row), compiled as a trial compiles it
(``steps_per_execution=8``, Adam, label smoothing, flips and 10% shifts in the model). Every
network trains one warm-up epoch on 1,024 random 32x32x3 images; then rounds of one timed
epoch each, in rotated order so that other load hits every row alike; the median round
counts. Images/s do not depend on the pixels, so no dataset is needed.

    .venv/bin/python benchmarks/trunks.py            # about 3 minutes on 2 CPU cores

Ends with ``stem_stride_speedup=<stem 2 / stem 1 images/s, width 32>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _fixed import versions  # noqa: E402
from cnnsearch.models import build  # noqa: E402
from cnnsearch.training import compile_model  # noqa: E402
from cnnsearch.training._performance import AUTO  # noqa: E402

FIRST = {
    "architecture": "residual",
    "residual_stages": 2,
    "residual_blocks_per_stage": 2,
    "residual_width": 32,
    "residual_stem_stride": 1,
    "residual_dropout": 0.0,
    "residual_dense_units": 0,
    "learning_rate": 0.003,
    "optimizer": "adam",
    "batch_size": 32,
    "flip": "horizontal",
    "rotation": 0.0,
    "translation": 0.1,
    "zoom": 0.0,
    "contrast": 0.0,
    "label_smoothing": 0.1,
}
ROWS: list[dict[str, Any]] = [
    {},
    {"residual_stem_stride": 2},
    {"residual_stem_stride": 2, "residual_width": 48},
    {"residual_stem_stride": 2, "residual_width": 64},
    {"residual_stem_stride": 2, "residual_blocks_per_stage": 3},
    {"residual_width": 16},
]


def label(row: dict[str, Any]) -> str:
    return (
        ", ".join(f"{k.removeprefix('residual_')}={v}" for k, v in row.items()) or "shipped before (stem 1, width 32)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.images, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, args.images)
    models = []
    for row in ROWS:
        params = {**FIRST, **row}
        model = build(params, (32, 32, 3), 10)
        compile_model(model, params, performance=AUTO["cpu"])
        model.fit(x, y, batch_size=params["batch_size"], epochs=1, verbose=0)  # tracing, warm caches
        models.append((row, params, model))
    speeds: list[list[float]] = [[] for _ in ROWS]
    for turn in range(args.rounds):
        for i in [(turn + k) % len(ROWS) for k in range(len(ROWS))]:
            _, params, model = models[i]
            started = time.perf_counter()
            model.fit(x, y, batch_size=params["batch_size"], epochs=1, verbose=0)
            speeds[i].append(args.images / (time.perf_counter() - started))
    print(versions())
    print("| trunk (cifar10.toml's first trial, one change) | params | images/s | vs stem 1 |")
    print("|---|---|---|---|")
    base = statistics.median(speeds[0])
    for (row, _, model), got in zip(models, speeds):
        rate = statistics.median(got)
        print(f"| {label(row)} | {model.count_params():,} | {rate:.0f} | {rate / base:.2f}x |")
    print(f"stem_stride_speedup={statistics.median(speeds[1]) / base:.2f}")
    keras.backend.clear_session()


if __name__ == "__main__":
    main()
