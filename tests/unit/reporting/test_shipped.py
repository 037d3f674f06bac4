"""The report's shipped-model section: on skewed data balanced accuracy, macro F1, per-class recall and
the confusion matrix lead; accuracy comes after them. The figures come from the card's owner, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnsearch.export import shipped_figures
from cnnsearch.reporting._shipped import shipped_section


def _card(folder: Path, lead: str) -> dict[str, Any] | None:
    per_class = [
        {"class": name, "precision": 0.5, "recall": recall, "f1": 0.5, "support": n}
        for name, recall, n in (("cat", 0.9, 80), ("horse", 0.3, 10))
    ]
    test = {
        "samples": 90, "accuracy": 0.8333, "balanced_accuracy": 0.6, "macro_f1": 0.55, "lead": lead,
        "lead_reason": "the test split is imbalanced", "per_class": per_class, "confusion_matrix": [[72, 8], [7, 3]],
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_card.json").write_text(json.dumps({"search": {"trial": 4}, "test": test}))
    return shipped_figures(folder)


def test_a_skewed_export_leads_with_balanced_figures(tmp_path: Path) -> None:
    assert shipped_figures(tmp_path) is None and shipped_section(None) == []  # nothing exported yet
    page = "".join(shipped_section(_card(tmp_path, "balanced_accuracy")))
    order = [page.index(k) for k in ("test balanced accuracy", "test macro F1", "test accuracy")]
    assert order == sorted(order) and "Balanced figures first" in page and "trial 4" in page
    assert "<th>recall</th>" in page and "<td>0.3000</td>" in page
    assert "<tr><th>horse</th><td>7</td><td>3</td></tr>" in page  # the confusion matrix, row by true class
    page = "".join(shipped_section(_card(tmp_path, "accuracy")))
    assert page.index("test accuracy") < page.index("test balanced accuracy") and "Confusion matrix" not in page
