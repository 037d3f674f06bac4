"""Test-set figures for a model card: computed once from labels and predicted probabilities.

Everything comes from scikit-learn's metrics on the same predictions, so a reader can
recompute each number from the exported model and the test split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnsearch.spec import BALANCED_METRIC, IMBALANCE_RATIO, imbalance_ratio

#: Search metrics that already weigh every class alike: a model selected by one leads with them.
BALANCED_SEARCH = (BALANCED_METRIC, "val_macro_f1")


def top_k(num_classes: int) -> int:
    """The k of top-k accuracy: 5 for many classes, fewer when there are few (k < classes)."""
    return max(1, min(5, num_classes - 1))


def classification_figures(
    y_true: np.ndarray, probs: np.ndarray, class_names: list[str], metric: str = "val_accuracy"
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, top-k accuracy, macro ROC-AUC, per-class precision/recall/F1, the
    confusion matrix, and ``lead``: the figure to read first (:func:`lead_figure`; ``metric``: the search's)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
        top_k_accuracy_score,
    )

    labels = list(range(len(class_names)))
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    k = top_k(len(class_names))
    present = np.unique(y_true)
    # ROC-AUC needs every class present in the test labels; otherwise it is averaged over those present.
    if len(present) == len(labels):
        auc = float(roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=labels))
    elif len(present) >= 2:
        aucs = [roc_auc_score(y_true == c, probs[:, c]) for c in present]
        auc = float(np.mean(aucs))
    else:
        auc = None
    ratio = imbalance_ratio(np.bincount(y_true, minlength=len(labels)).tolist())
    lead, why = lead_figure(ratio, metric)
    return {
        "samples": int(len(y_true)),
        "lead": lead,
        "lead_reason": why,
        "imbalance": round(ratio, 4),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "top_k": k,
        "top_k_accuracy": float(top_k_accuracy_score(y_true, probs, k=k, labels=labels)),
        "macro_roc_auc": auc,
        "macro_f1": float(np.mean(f1)),
        "per_class": [
            {
                "class": name,
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        ],
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def lead_figure(test_imbalance: float, metric: str) -> tuple[str, str]:
    """ "balanced_accuracy" on skewed data (the test split past ``IMBALANCE_RATIO``, or a search that
    selected by a balanced figure), else "accuracy"; and why, in words, for the card."""
    if metric in BALANCED_SEARCH:
        return "balanced_accuracy", f"the search selected by {metric}"
    if test_imbalance >= IMBALANCE_RATIO:
        return "balanced_accuracy", (
            f"the test split is imbalanced (largest class {test_imbalance:.2f}x the smallest, at or over "
            f"{IMBALANCE_RATIO:g}x)"
        )
    return "accuracy", f"the test split is balanced enough ({test_imbalance:.2f}x, under {IMBALANCE_RATIO:g}x)"


def plot_confusion_matrix(matrix: list[list[int]], class_names: list[str], path: Path) -> Path:
    """Counts per (true, predicted) class as a heat map, each cell labelled."""
    plt = _pyplot()
    counts = np.asarray(matrix)
    size = max(4.0, 0.55 * len(class_names) + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    image = ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test set)")
    threshold = counts.max() / 2 if counts.size else 0
    for (row, col), value in np.ndenumerate(counts):
        ax.text(
            col, row, str(value), ha="center", va="center", fontsize=8, color="white" if value > threshold else "black"
        )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_training_curves(
    retrain: dict[str, list[float]], search: dict[str, list[float]], metric: str, path: Path
) -> Path:
    """Left: the retrain's loss and accuracy per epoch (if one ran). Right: the best trial's curves in the search."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, values in retrain.items():
        left.plot(range(1, len(values) + 1), values, marker="o", label=key)
    if retrain:
        left.set_title("Final retrain on train + validation")
        left.legend()
    else:
        left.text(0.5, 0.5, "no retrain: the trials' kept weights were shipped", ha="center", va="center")
        left.set_title("Final retrain")
    left.set_xlabel("epoch")
    left.grid(alpha=0.3)
    if search:
        for key, values in search.items():
            right.plot(range(1, len(values) + 1), values, marker=".", label=key)
        right.set_title(f"Best trial during the search ({metric})")
        right.legend()
    else:
        right.text(0.5, 0.5, "search curves not available", ha="center", va="center")
        right.set_title("Best trial during the search")
    right.set_xlabel("epoch")
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend: files only, no display needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
