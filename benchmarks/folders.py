"""Do the shipped defaults generalise? ``search_spaces/folder.toml`` on image folders the
project was never tuned on, against the tutorial CNN trained on the same split.

The folders are written at run time into a scratch directory (nothing is copied into the
repository), each with other classes, sizes and class balance than the specs were tuned on:

- ``shapes-40``: synthetic grayscale shapes (circle, square, triangle, cross), 40 x 40,
  random size (radius 4-12 px), position, faint contrast and heavy noise, 200 of each;
- ``animals-48-imbalanced``: the CIFAR-10 subset's cat, deer, dog and horse upsampled to
  48 x 48 (bicubic), kept at 100%, 60%, 35% and 20% of each class's images;
- ``vehicles-24``: its airplane, automobile, ship and truck downsampled to 24 x 24, balanced.

Not run unless named in ``--folders`` (checks of defaults chosen on the three above):
``vehicles-40-imbalanced`` (those vehicles at 40 px, kept at 25%, 100%, 45%, 70%) and
``six-32-imbalanced`` (airplane, bird, cat, frog, ship, truck at 32 px, kept at 30%, 100%, 20%,
60%, 80%, 45%).

Each folder: ``cnnsearch.run`` on ``folder.toml`` with ``data.path`` and ``study.timeout``
set (nothing else), then what ``best --export`` ships by the spec's own rule, measured once
on the held-out split; then the tutorial CNN (conv 32-64-64, dense 64, Adam, 10 epochs) on
train + validation of the same split. Accuracy, balanced accuracy and macro F1 (the
imbalanced folder is where they differ). Results are saved after every (folder, method) in
``OUT/partial.json``; ``--resume`` keeps them. The last line is ``folders_margin=<shipped
minus tutorial accuracy, in test points, worst folder>``.

``--set study.seed=N`` changes the split, the search's seed and the tutorial CNN's seed
together; ``--workers N`` runs cnnsearch in N worker processes. ``--arms`` adds runs of
``folder.toml`` with one setting changed (:data:`ARMS`: the imbalance side-by-side of class
weights, oversampling and neither, ``metric = "val_accuracy"``, and regularising the first
trial's params), same seed, same budget, and prints them side by side.

    PYTHONPATH=. .venv/bin/python benchmarks/folders.py                 # 3 folders x 5 minutes
    PYTHONPATH=. .venv/bin/python benchmarks/folders.py --timeout 2m --folders shapes-40
    PYTHONPATH=. .venv/bin/python benchmarks/folders.py --folders animals-48-imbalanced \
        --arms no_weights,oversample,val_accuracy
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, f1_score  # noqa: E402

import cnnsearch  # noqa: E402
from _fixed import cifar_path  # noqa: E402
from cnnsearch.data import load  # noqa: E402
from cnnsearch.export import ship  # noqa: E402
from cnnsearch.spec import as_ran, imbalance_ratio, load_spec  # noqa: E402
from quality import tutorial_model  # noqa: E402

SPEC = ROOT / "search_spaces" / "folder.toml"


def _save(folder: Path, label: str, index: int, pixels: np.ndarray) -> None:
    (folder / label).mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(folder / label / f"{index:04d}.png")


def shapes(folder: Path, rng: np.random.Generator, per_class: int = 200, side: int = 40) -> None:
    """Four synthetic shape classes, drawn with random size, place, intensity and noise."""
    for label in ("circle", "square", "triangle", "cross"):
        for i in range(per_class):
            background = int(rng.integers(0, 90))
            image = Image.new("L", (side, side), background)
            draw = ImageDraw.Draw(image)
            r = int(rng.integers(4, 13))
            cx, cy = (int(rng.integers(r + 1, side - r - 1)) for _ in range(2))
            ink = background + int(rng.integers(40, 140))
            if label == "circle":
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ink)
            elif label == "square":
                draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=ink)
            elif label == "triangle":
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=ink)
            else:
                w = max(2, r // 3)
                draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=ink)
                draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=ink)
            noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 40, (side, side))
            _save(folder, label, i, np.clip(noisy, 0, 255).astype(np.uint8))


def _cifar() -> tuple[np.ndarray, np.ndarray, list[str]]:
    path = cifar_path()
    if path is None:
        sys.exit("error: no CIFAR-10 subset in ../shared/data/cifar10-subset (needed by the CIFAR folders)")
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(path / name, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(batch[b"labels"]))
    with open(path / "batches.meta", "rb") as handle:
        names = [n.decode() for n in pickle.load(handle, encoding="bytes")[b"label_names"]]
    return np.concatenate(xs), np.concatenate(ys), names


def cifar_classes(folder: Path, classes: list[str], side: int, shares: list[float]) -> None:
    """Some CIFAR-10 subset classes, resized to ``side``, each kept at its share of images."""
    x, y, names = _cifar()
    for label, share in zip(classes, shares, strict=True):
        images = x[y == names.index(label)]
        for i, pixels in enumerate(images[: int(len(images) * share)]):
            resized = Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)
            _save(folder, label, i, np.asarray(resized))


FOLDERS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "shapes-40": shapes,
    "animals-48-imbalanced": lambda f, _: cifar_classes(f, ["cat", "deer", "dog", "horse"], 48, [1.0, 0.6, 0.35, 0.2]),
    "vehicles-24": lambda f, _: cifar_classes(f, ["airplane", "automobile", "ship", "truck"], 24, [1.0] * 4),
    # Not in the default set: skewed folders for checking defaults tuned on the first.
    "vehicles-40-imbalanced": lambda f, _: cifar_classes(
        f, ["airplane", "automobile", "ship", "truck"], 40, [0.25, 1.0, 0.45, 0.7]
    ),
    "six-32-imbalanced": lambda f, _: cifar_classes(
        f, ["airplane", "bird", "cat", "frog", "ship", "truck"], 32, [0.3, 1.0, 0.2, 0.6, 0.8, 0.45]
    ),
}
DEFAULT_FOLDERS = ["shapes-40", "animals-48-imbalanced", "vehicles-24"]


#: ``--arms``: folder.toml with one change each (the shipped defaults are the "default" arm).
ARMS: dict[str, list[str]] = {
    "class_weight": ["train.class_weight=balanced", "train.sampling=none"],
    "oversample": ["train.class_weight=none", "train.sampling=oversample"],
    "no_weights": ["train.class_weight=none", "train.sampling=none"],
    "val_accuracy": ["study.metric=val_accuracy"],
    # Regularising the prior, the params the final training usually trains (its 48 epochs on the
    # imbalanced folder reached 1.00 training accuracy against 0.62 on validation):
    "zoom": ["study.initial_params.zoom=0.1"],
    "dropout": ["study.initial_params.residual_dropout=0.2"],
    "adamw": ["study.initial_params.optimizer=adamw"],
}
FIGURES = ("accuracy", "balanced_accuracy", "macro_f1")


def figures(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """:data:`FIGURES` of the predicted classes against the true labels ``y``."""
    predicted = probs.argmax(1)
    return {
        "accuracy": float(np.mean(predicted == y)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro")),
    }


def run_cnnsearch(
    name: str,
    folder: Path,
    timeout: str,
    scratch: Path,
    arm: str = "default",
    extra: list[str] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    label = name if arm == "default" else f"{name}-{arm}"
    budget = [f"study.timeout={timeout}"] if timeout != "none" else []
    overrides = [f"data.path={folder}", *budget, f"study.name=folders-{label}", *(extra or []), *ARMS.get(arm, [])]
    work = scratch / label
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    started = time.perf_counter()
    study = cnnsearch.run(SPEC, overrides=overrides, progress=False, workers=workers)
    search_s = time.perf_counter() - started
    spec = as_ran(load_spec(SPEC, overrides), study.metric_names)  # "auto": what the study settled on
    splits = load(spec.data, seed=spec.study.seed)
    keras.backend.clear_session()
    lines: list[str] = []
    shipped = ship(spec, study, splits, lines.append)
    row = figures(np.asarray(shipped.model.predict(splits.x_test, batch_size=256, verbose=0)), splits.y_test)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    row.update(
        search_s=search_s,
        trials=len(study.trials),
        complete=len(done),
        best_val=study.best_value,
        shipped=shipped.description,
        metric=spec.study.metric,
        imbalance=imbalance_ratio(np.bincount(splits.y_train).tolist()),
        images=f"{len(splits.x_train)} train / {len(splits.x_val)} val / {len(splits.x_test)} test",
        input_shape=list(splits.input_shape),
    )
    return row


def run_tutorial(folder: Path, extra: list[str] | None = None) -> dict[str, Any]:
    """The tutorial CNN on the split cnnsearch gets (``study.seed`` from ``--set`` picks both), seeded alike."""
    spec = load_spec(SPEC, [f"data.path={folder}", *(extra or [])])
    splits = load(spec.data, seed=spec.study.seed)
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.study.seed)
    started = time.perf_counter()
    model = tutorial_model(splits.input_shape, splits.num_classes)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.concatenate([splits.x_train, splits.x_val]), np.concatenate([splits.y_train, splits.y_val])
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    row = figures(np.asarray(model.predict(splits.x_test, batch_size=256, verbose=0)), splits.y_test)
    row["seconds"] = time.perf_counter() - started
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", default=",".join(DEFAULT_FOLDERS), help=f"of: {', '.join(FOLDERS)}")
    parser.add_argument("--timeout", default="5m", help="each folder's study.timeout")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "folders")
    parser.add_argument("--resume", action="store_true", help="keep the results already in OUT/partial.json")
    parser.add_argument("--arms", default="", help=f"also run folder.toml changed as: {', '.join(ARMS)}")
    parser.add_argument("--no-tutorial", action="store_true", help="skip the tutorial CNN (already measured)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="SECTION.KEY=VALUE for every cnnsearch run (e.g. a budget in trials: --timeout none --set "
        "study.n_trials=4 --set study.final_share=0, which the machine's load does not change)",
    )
    parser.add_argument("--workers", type=int, default=None, help="cnnsearch's worker processes (run --workers N)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "partial.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if args.resume and saved.exists() else {}
    scratch = Path(tempfile.mkdtemp(prefix="cnnsearch-folders-"))
    home = Path.cwd()
    for name in args.folders.split(","):
        folder = scratch / "images" / name
        FOLDERS[name](folder, np.random.default_rng(0))
        arms = [a for a in args.arms.split(",") if a]
        methods = ["cnnsearch", *(f"cnnsearch[{a}]" for a in arms), *([] if args.no_tutorial else ["tutorial"])]
        for method in methods:
            key = f"{name}/{method}"
            if key in results:
                continue
            print(f"{key} ...", flush=True)
            if method == "tutorial":
                results[key] = run_tutorial(folder, args.set)
            else:
                arm = method.partition("[")[2].rstrip("]") or "default"
                results[key] = run_cnnsearch(name, folder, args.timeout, scratch, arm, args.set, args.workers)
            os.chdir(home)
            print(f"  {key}: " + ", ".join(f"{k} {results[key][k]:.4f}" for k in FIGURES), flush=True)
            saved.write_text(json.dumps(results, indent=1))
    budget = f"study.timeout {args.timeout}" + "".join(f", {s}" for s in args.set)
    budget += f", --workers {args.workers}" if args.workers else ""
    print(f"\nfolder.toml ({budget}) against the tutorial CNN, same split")
    print(
        "| folder | images | cnnsearch accuracy | balanced accuracy | macro F1 | tutorial accuracy | balanced accuracy "
        "| macro F1 | selected by | shipped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    margins = []
    for name in args.folders.split(","):
        ours, tut = results.get(f"{name}/cnnsearch"), results.get(f"{name}/tutorial")
        if not ours or not tut:
            continue
        margins.append((ours["accuracy"] - tut["accuracy"]) * 100)
        print(
            f"| {name} ({'x'.join(map(str, ours['input_shape']))}) | {ours['images']} | {_row(ours, tut)} | "
            f"{ours.get('metric', 'val_accuracy')} ({ours.get('imbalance', float('nan')):.2f}x) | {ours['shipped']} "
            f"({ours['complete']} of {ours['trials']} trials complete, {ours['search_s']:.0f} s) |"
        )
    _side_by_side(results, args.folders.split(","), args.arms, budget)
    print(f"versions: keras {keras.__version__} ({keras.backend.backend()}), cnnsearch {cnnsearch.__version__}")
    print(f"folders_margin={min(margins) if margins else float('nan'):+.2f}")


def _row(ours: dict[str, Any], tut: dict[str, Any]) -> str:
    """cnnsearch's three figures then the tutorial's (a figure measured before balanced accuracy was: -)."""
    cell = lambda row, k: f"{row[k]:.4f}" if k in row else "-"  # noqa: E731
    return " | ".join([*(cell(ours, k) for k in FIGURES), *(cell(tut, k) for k in FIGURES)])


def _side_by_side(results: dict[str, Any], folders: list[str], arms: str, budget: str) -> None:
    """The shipped defaults beside each ``--arms`` change, per folder (same seed, same budget)."""
    if not arms:
        return
    print(f"\nfolder.toml with one change ({budget}, the same seed each)")
    print("| folder | run | accuracy | balanced accuracy | macro F1 | selected by | shipped |")
    print("|---|---|---|---|---|---|---|")
    for name in folders:
        for arm in ["default", *arms.split(",")]:
            row = results.get(f"{name}/cnnsearch" if arm == "default" else f"{name}/cnnsearch[{arm}]")
            if row:
                changed = " ".join(ARMS.get(arm, ["folder.toml as shipped"]))
                print(
                    f"| {name} | {changed} | "
                    + " | ".join(f"{row[k]:.4f}" if k in row else "-" for k in FIGURES)
                    + f" | {row.get('metric', '?')} | {row['shipped']} ({row['complete']} of {row['trials']} "
                    f"trials complete, {row['search_s']:.0f} s) |"
                )


if __name__ == "__main__":
    main()
