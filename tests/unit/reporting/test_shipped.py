"""The report's shipped-model section: on skewed data balanced accuracy, macro F1, per-class recall and
the confusion matrix lead; accuracy comes after them."""

from __future__ import annotations

import json
from pathlib import Path

from cnnsearch.reporting._shipped import shipped_section
from cnnsearch.spec import load_spec


def _card(workdir: Path, lead: str) -> None:
    per_class = [
        {"class": name, "precision": 0.5, "recall": recall, "f1": 0.5, "support": n}
        for name, recall, n in (("cat", 0.9, 80), ("horse", 0.3, 10))
    ]
    test = {
        "samples": 90, "accuracy": 0.8333, "balanced_accuracy": 0.6, "macro_f1": 0.55, "lead": lead,
        "lead_reason": "the test split is imbalanced", "per_class": per_class, "confusion_matrix": [[72, 8], [7, 3]],
    }  # fmt: skip
    (workdir / "exports" / "tiny").mkdir(parents=True, exist_ok=True)
    (workdir / "exports" / "tiny" / "model_card.json").write_text(json.dumps({"search": {"trial": 4}, "test": test}))


def test_a_skewed_export_leads_with_balanced_figures(workdir: Path, tiny_spec_file) -> None:
    spec = load_spec(tiny_spec_file())
    assert shipped_section(spec) == []  # nothing exported yet
    _card(workdir, "balanced_accuracy")
    page = "".join(shipped_section(spec))
    order = [page.index(k) for k in ("test balanced accuracy", "test macro F1", "test accuracy")]
    assert order == sorted(order) and "Balanced figures first" in page
    assert "<th>recall</th>" in page and "<td>0.3000</td>" in page
    assert "<tr><th>horse</th><td>7</td><td>3</td></tr>" in page  # the confusion matrix, row by true class
    _card(workdir, "accuracy")
    page = "".join(shipped_section(spec))
    assert page.index("test accuracy") < page.index("test balanced accuracy") and "Confusion matrix" not in page
