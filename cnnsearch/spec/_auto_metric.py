"""``study.metric = "auto"``: balanced accuracy on an imbalanced training split, accuracy otherwise.

Why a ratio of the largest to the smallest class: it bounds how far accuracy (recall
weighted by class share) can drift from balanced accuracy (plain mean recall). At
:data:`IMBALANCE_RATIO` = 1.5 with two classes, a 10-point recall gap between them moves the
two figures 1 point apart; past it, accuracy rewards a model for leaning towards the big
classes. The training splits of the data sets this project ships specs for sit well below
it (digits 1.05, the CIFAR-10 subset 1.11) and the imbalanced benchmark folder well above
(4.87); docs/imbalanced.md has the measurements.

The choice needs the data, so it is made after ``data.load`` (``training.settle_metric``)
and kept as the study's metric name, which later commands read back (:func:`with_metric`).
This module only decides from class counts: the spec layer sees no arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnsearch.spec._objectives import AUTO_METRIC
from cnnsearch.spec._schema import Spec

#: Largest over smallest class count in the training split from which "auto" picks balanced accuracy.
IMBALANCE_RATIO = 1.5
BALANCED_METRIC = "val_balanced_accuracy"
PLAIN_METRIC = "val_accuracy"


def imbalance_ratio(counts: Sequence[int]) -> float:
    """Largest class count over the smallest (classes with no image left out; 1.0 with fewer than two)."""
    present = [int(c) for c in counts if c > 0]
    return max(present) / min(present) if len(present) >= 2 else 1.0


def choose_metric(counts: Sequence[int], class_names: Sequence[str]) -> tuple[str, str]:
    """The metric "auto" stands for on a training split with these class counts, and why, in words."""
    ratio = imbalance_ratio(counts)
    present = [(int(c), str(name)) for c, name in zip(counts, class_names) if c > 0]
    (most, big), (least, small) = max(present, default=(0, "?")), min(present, default=(0, "?"))
    spread = f"largest class '{big}' {most} images, smallest '{small}' {least}: {ratio:.2f}x"
    if ratio >= IMBALANCE_RATIO:
        return BALANCED_METRIC, f"the training split is imbalanced ({spread}, at or over {IMBALANCE_RATIO:g}x)"
    return PLAIN_METRIC, f"the training split is balanced enough ({spread}, under {IMBALANCE_RATIO:g}x)"


def with_metric(spec: Spec, metric: str) -> Spec:
    """The spec with ``study.metric`` set (what "auto" resolved to); a spec with another metric is kept as is."""
    if spec.study.metric != AUTO_METRIC:
        return spec
    return spec.model_copy(update={"study": spec.study.model_copy(update={"metric": metric})})


def as_ran(spec: Spec, metric_names: Sequence[str] | None) -> Spec:
    """For commands after ``run`` (they load no data): "auto" as the study resolved it, its first metric name."""
    return with_metric(spec, metric_names[0]) if is_auto(spec) and metric_names else spec


def is_auto(spec: Spec) -> bool:
    return spec.study.metric == AUTO_METRIC
