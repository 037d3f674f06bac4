"""On skewed test data the card and the export's lines lead with balanced accuracy, macro F1, per-class
recall and the confusion matrix; accuracy comes second. On balanced data they read as before."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from cnnsearch.export._card import figure_lines, figures_section
from cnnsearch.export._evaluation import classification_figures

CLASSES = ["cat", "deer", "horse"]


def _predictions(counts: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with these class counts and probabilities that lean towards class 0."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    probs = rng.dirichlet(np.ones(len(counts)), size=len(y))
    probs[np.arange(len(y)), y] += 0.3
    probs[:, 0] += 0.35
    return y, probs / probs.sum(1, keepdims=True)


def test_skewed_figures_lead_with_balanced_accuracy() -> None:
    y, probs = _predictions([80, 30, 10])
    figures = classification_figures(y, probs, CLASSES)
    predicted = probs.argmax(1)
    assert figures["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, predicted))
    assert figures["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro"))
    assert figures["lead"] == "balanced_accuracy" and "8.00x" in figures["lead_reason"]
    first, recalls = figure_lines(figures)
    assert first.startswith(f"Test balanced accuracy {figures['balanced_accuracy']:.4f}, macro F1")
    assert f"(accuracy {figures['accuracy']:.4f}" in first
    assert recalls == "  recall per class: " + ", ".join(
        f"{c['class']} {c['recall']:.2f}" for c in figures["per_class"]
    )
    page = figures_section(figures, figures["macro_roc_auc"])
    rows = [line for line in page if line.startswith("| ")]
    # The balanced figures first, accuracy after them; recall before precision; the matrix as a table.
    assert (
        rows[2].startswith("| balanced accuracy")
        and rows[3].startswith("| macro F1")
        and rows[4].startswith("| accuracy")
    )
    assert "| class | recall | precision | F1 | support |" in page
    matrix = figures["confusion_matrix"]
    assert "| cat | " + " | ".join(str(v) for v in matrix[0]) + " |" in page


def test_balanced_figures_read_as_before_unless_the_search_chose_a_balanced_metric() -> None:
    y, probs = _predictions([40, 40, 38])
    figures = classification_figures(y, probs, CLASSES)
    assert figures["lead"] == "accuracy"
    (line,) = figure_lines(figures)
    assert line.startswith(f"Test accuracy {figures['accuracy']:.4f} on 118 held-out images")
    page = figures_section(figures, None)
    assert [r for r in page if r.startswith("| ")][2].startswith("| accuracy")
    assert "| class | precision | recall | F1 | support |" in page
    chosen = classification_figures(y, probs, CLASSES, metric="val_macro_f1")
    assert chosen["lead"] == "balanced_accuracy" and chosen["lead_reason"] == "the search selected by val_macro_f1"
