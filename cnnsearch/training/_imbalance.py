"""Imbalanced classes: class weights, resampling of the training split, per-class validation figures.

Only the data a model trains on is touched (the training split in a trial, train +
validation in the final retrain); validation and test keep their real class mix, so
their figures show what the weighting or resampling did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnnsearch.data import Splits
from cnnsearch.errors import SpecError
from cnnsearch.spec import Spec, choose_metric, is_auto, with_metric

#: Per-class validation figures go to MLflow (one table artifact) for up to this many classes.
MAX_LOGGED_CLASSES = 100


def class_weights(setting: Any, y: np.ndarray, class_names: Sequence[str] | None = None) -> dict[int, float] | None:
    """Keras ``class_weight`` for ``fit``: None, "balanced" (n / (k * count)), or explicit weights.

    Explicit weights are keyed by class name or index; classes left out weigh 1.
    """
    if setting in (None, "none"):
        return None
    num_classes = len(class_names) if class_names is not None else int(np.max(y)) + 1
    if setting == "balanced":
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes)
        present = int(np.count_nonzero(counts))
        return {c: float(len(y) / (present * counts[c])) if counts[c] else 1.0 for c in range(num_classes)}
    if isinstance(setting, Mapping):
        weights = {c: 1.0 for c in range(num_classes)}
        for key, weight in setting.items():
            weights[class_index(str(key), class_names, num_classes)] = float(weight)
        return weights
    raise ValueError(f"unknown class_weight {setting!r}")


def class_index(key: str, class_names: Sequence[str] | None, num_classes: int) -> int:
    """A class named in the spec, by name first, else by index; one clear line if it is neither."""
    if class_names is not None and key in class_names:
        return list(class_names).index(key)
    if key.isdigit() and int(key) < num_classes:
        return int(key)
    known = (
        ", ".join(list(class_names)[:12]) + (", ..." if class_names and len(class_names) > 12 else "")
        if class_names
        else ""
    )
    raise SpecError(
        f"train.class_weight: no class '{key}' in this dataset"
        + (f" (classes: {known}; or an index 0..{num_classes - 1})" if known else f" (indexes 0..{num_classes - 1})")
    )


def resample(
    x: np.ndarray, y: np.ndarray, how: str, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` at the rows :func:`resampled_rows` picks (as they are for ``how = "none"``)."""
    rows = resampled_rows(y, how, rng)
    return (x, y) if rows is None else (x[rows], y[rows])


def resampled_rows(y: np.ndarray, how: str, rng: np.random.Generator | None = None) -> np.ndarray | None:
    """The rows that oversample every class up to the largest one's count, or undersample down to the
    smallest's; None for ``how = "none"``.

    Oversampling keeps every image and adds random repeats; undersampling keeps a random
    subset. The order is shuffled either way. ``rng`` defaults to one drawn from NumPy's
    global state, which ``keras.utils.set_random_seed`` seeds per trial. Rows, not images,
    so that a streamed split is resampled without copying it into memory.
    """
    if how == "none":
        return None
    rng = rng or np.random.default_rng(np.random.randint(0, 2**31 - 1))
    classes, counts = np.unique(y, return_counts=True)
    target = counts.max() if how == "oversample" else counts.min()
    picked = []
    for c, count in zip(classes, counts):
        members = np.flatnonzero(y == c)
        if how == "oversample":
            extra = rng.choice(members, size=target - count, replace=True) if target > count else members[:0]
            picked.append(np.concatenate([members, extra]))
        elif how == "undersample":
            picked.append(rng.choice(members, size=target, replace=False))
        else:
            raise ValueError(f"unknown sampling {how!r}")
    return rng.permutation(np.concatenate(picked))


def settle_metric(spec: Spec, splits: Splits) -> tuple[Spec, str | None]:
    """``study.metric = "auto"`` made concrete from the training split's class counts, and the line saying
    which and why (None when the spec named its metric). Called right after ``data.load``, before the study opens."""
    if not is_auto(spec):
        return spec, None
    counts = np.bincount(np.asarray(splits.y_train, dtype=np.int64), minlength=splits.num_classes)
    metric, why = choose_metric(counts.tolist(), splits.class_names)
    return with_metric(spec, metric), f'study.metric = "auto": {metric}, {why}'


def check_class_weights(spec: Any, class_names: Sequence[str]) -> None:
    """Before any training: every class the spec weighs exists in the data."""
    setting = spec.train.class_weight
    if isinstance(setting, Mapping):
        for key in setting:
            class_index(str(key), class_names, len(class_names))


def per_class_metrics(model: Any, x: np.ndarray, y: np.ndarray, class_names: Sequence[str]) -> dict[str, list[Any]]:
    """Validation recall, F1 and support per class, as one table (column -> values, a row per class).

    One table artifact reads better in MLflow than two one-point charts per class.
    """
    import keras
    from sklearn.metrics import precision_recall_fscore_support

    # Direct calls, not predict(): predict traces a new function per model, and TensorFlow warns about it.
    batches = [keras.ops.convert_to_numpy(model(x[i : i + 256], training=False)) for i in range(0, len(x), 256)]
    probs = np.concatenate(batches) if batches else np.zeros((0, len(class_names)))
    labels = list(range(len(class_names)))
    _, recall, f1, support = precision_recall_fscore_support(y, probs.argmax(1), labels=labels, zero_division=0)
    return {
        "class": [str(name) for name in class_names],
        "recall": [round(float(v), 6) for v in recall],
        "f1": [round(float(v), 6) for v in f1],
        "support": [int(v) for v in support],
    }


def metric_name(name: str) -> str:
    """A class name as an MLflow metric key part (letters, digits, _ - . space only)."""
    return re.sub(r"[^A-Za-z0-9_\-. ]", "_", name) or "_"
