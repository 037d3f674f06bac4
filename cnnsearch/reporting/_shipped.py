"""The report's "Shipped model" section: the exported model's test figures.

On skewed data (the card's ``test.lead`` is balanced accuracy) the section leads with
balanced accuracy and macro F1, then each class's recall and the confusion matrix, and
gives accuracy after them: accuracy rewards a model that leans towards the big classes.
The card has one owner, export: api reads the figures there (``export.shipped_figures``)
and hands them to the report.
"""

from __future__ import annotations

import html
from typing import Any


def shipped_section(shipped: dict[str, Any] | None) -> list[str]:
    """HTML: the shipped model's test figures (``{"trial", "test"}``), balanced ones first on skewed data;
    nothing if none was exported."""
    if shipped is None:
        return []
    test = shipped["test"]
    balanced = test.get("lead") == "balanced_accuracy"
    figures = [("test accuracy", test["accuracy"]), ("test macro F1", test["macro_f1"])]
    if "balanced_accuracy" in test:
        figures.insert(0 if balanced else 1, ("test balanced accuracy", test["balanced_accuracy"]))
    if balanced:
        figures = [figures[0], figures[2], figures[1]]  # balanced accuracy, macro F1, then accuracy
    cards = "".join(f"<div class='card'>{_e(k)}<b>{v:.4f}</b></div>" for k, v in figures)
    names = [c["class"] for c in test["per_class"]]
    recall = "".join(
        f"<tr><td>{_e(c['class'])}</td><td>{c['recall']:.4f}</td><td>{c['precision']:.4f}</td>"
        f"<td>{c['f1']:.4f}</td><td>{c['support']}</td></tr>"
        for c in test["per_class"]
    )
    parts = [
        f"<h2>Shipped model: trial {_e(shipped['trial'])}, {test['samples']} held-out test images</h2>",
        *([f"<p class='note'>Balanced figures first: {_e(test.get('lead_reason', ''))}.</p>"] if balanced else []),
        f"<div class='cards'>{cards}</div>",
        f"<table><tr><th>class</th><th>recall</th><th>precision</th><th>F1</th><th>support</th></tr>{recall}</table>",
    ]
    if balanced and len(names) <= 20 and test.get("confusion_matrix"):
        head = "".join(f"<th>{_e(n)}</th>" for n in names)
        rows = "".join(
            f"<tr><th>{_e(n)}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
            for n, row in zip(names, test["confusion_matrix"])
        )
        parts.append(
            f"<p>Confusion matrix (rows: true class, columns: predicted)</p><table><tr><th></th>{head}</tr>{rows}</table>"
        )
    return parts


def _e(value: Any) -> str:
    return html.escape(str(value))
