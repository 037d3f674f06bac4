"""The model card: what an exported model is, how it was chosen and how well it does on unseen data.

Written twice from one dict: ``model_card.json`` for programs (``cnnsearch predict``
reads its input section) and ``model_card.md`` for people.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from cnnsearch.export._objectives_card import objectives_markdown

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"

#: How ``cnnsearch predict`` turns an arbitrary image into the model's input (said in the card).
CONVERSION = (
    "Images are read as uint8 pixels (0-255). An image whose size differs from the input shape is "
    "resized with bilinear interpolation; RGB becomes grayscale by ITU-R 601 luma (0.299 R + 0.587 G "
    "+ 0.114 B), grayscale becomes RGB by repeating the channel, and an alpha channel is dropped. "
    "Scaling to [0, 1] happens inside the model; there is no augmentation at inference."
)


def versions(backend: str) -> dict[str, str]:
    """Versions of what built and trained the model, for reproducing it."""
    names = ["keras", backend, "optuna", "mlflow", "numpy", "scikit-learn", "cnnsearch"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["keras_backend"] = backend
    return found


def write_card(card: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """model_card.json and model_card.md, side by side in the export directory."""
    json_path = directory / CARD_JSON
    json_path.write_text(json.dumps(card, indent=2) + "\n")
    md_path = directory / CARD_MD
    md_path.write_text(render_markdown(card))
    return json_path, md_path


def read_card(directory: Path) -> dict[str, Any]:
    """The card of an export directory; a clear error if the directory is not an export."""
    from cnnsearch.errors import CnnsearchError

    path = directory / CARD_JSON
    if not path.is_file():
        raise CnnsearchError(
            f"{directory}: not a cnnsearch export (no {CARD_JSON}); run `cnnsearch best SPEC --export` first"
        )
    try:
        card = json.loads(path.read_text())
        _ = card["input"]["shape"], card["classes"], card["input"]["channels"]  # the keys predict relies on
    except (ValueError, KeyError, TypeError) as exc:
        raise CnnsearchError(f"{path}: unreadable model card ({type(exc).__name__}: {exc})") from None
    problem = input_problem(card)
    if problem:
        raise CnnsearchError(f"{path}: {problem}")
    return card


def export_summary(directory: Path, number: int) -> dict[str, Any] | None:
    """What ``best`` says of an export folder: the trial it holds (and whether that is ``number``),
    its test accuracy and registry version; None when the folder holds no card cnnsearch wrote."""
    try:
        card = json.loads((directory / CARD_JSON).read_text(encoding="utf-8"))
        trial, accuracy = card["search"]["trial"], float(card["test"]["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):  # no export yet, or not a card cnnsearch wrote
        return None
    mlflow = card.get("mlflow") or {}
    return {
        "directory": str(directory),
        "trial": trial,
        "this_trial": trial == number,
        "test_accuracy": accuracy,
        # On skewed data (the card's lead): the figures to read first.
        "test_balanced_accuracy": card["test"].get("balanced_accuracy"),
        "test_macro_f1": card["test"].get("macro_f1"),
        "test_lead": card["test"].get("lead", "accuracy"),
        "registered_model": mlflow.get("registered_model"),
        "version": mlflow.get("version"),
        "created": card.get("created"),
    }


def shipped_figures(directory: Path) -> dict[str, Any] | None:
    """The card's search trial and test figures, for the report's shipped-model section; None when the
    folder holds no card cnnsearch wrote (or one from before per-class figures)."""
    try:
        card = json.loads((directory / CARD_JSON).read_text(encoding="utf-8"))
        test, trial = card["test"], card["search"]["trial"]
        _ = float(test["accuracy"]), float(test["macro_f1"]), list(test["per_class"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"trial": trial, "test": test}


def input_problem(card: dict[str, Any]) -> str | None:
    """Why the card's input section and classes cannot drive ``predict`` (an edited or damaged card), or None."""
    shape, channels, classes = card["input"]["shape"], card["input"]["channels"], card["classes"]
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 65536 for d in shape)
    ):
        return f"input.shape: expected [height, width, channels] of positive integers, got {json.dumps(shape)[:80]}"
    if channels not in (1, 3) or channels != shape[2]:
        return f"input.channels: expected 1 or 3, the last of input.shape {shape}, got {json.dumps(channels)[:80]}"
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        return f"classes: expected a list of class names, got {json.dumps(classes)[:80]}"
    return None


def _shipped_lines(card: dict[str, Any]) -> list[str]:
    """What was shipped, by which rule, and each member's validation figure."""
    shipped, training = card.get("shipped") or {"rule": "retrain"}, card["training"]
    flips = (
        ["- Test-time flips (`[export] test_time_flips`): each prediction is the mean over the image and its mirror."]
        if shipped.get("test_time_flips")
        else []
    )
    if shipped["rule"] == "retrain":
        return [
            f"- Shipped: retrained on train + validation ({training['train_samples']} images) for "
            f"{training['epochs']} epochs: {training['epochs_rule']}",
            *flips,
        ]
    metric = card["search"]["metric"]
    lines = [f'- Shipped ({shipped["rule"]}, `[export] ship = "{shipped["asked"]}"`): {shipped["description"]}.']
    for m in shipped["members"]:
        who = f"trial {m['trial']}" + ("" if m.get("fold") is None else f", fold {m['fold']}")
        value = "?" if m.get("value") is None else f"{m['value']:.4f}"
        weights = "trained at export" if m.get("weights") is None else f"weights `{m['weights']}`"
        lines.append(f"  - {who}: {metric} {value} ({weights}, trained on {training['train_samples']} images)")
    if shipped.get("rerank"):
        lines.append(f"- Re-ranked by cross-validation (`[export] rerank`), best first ({metric}):")
        lines += [
            f"  - trial {r['trial']}: {r['value']:.4f} on the search's split, fold mean {r['mean']:.4f} ("
            + ", ".join(f"{v:.4f}" for v in r["folds"])
            + ")"
            for r in shipped["rerank"]
        ]
    return lines + flips


def figure_lines(test: dict[str, Any]) -> list[str]:
    """The export's progress lines on the test figures: on skewed data, balanced accuracy and macro F1
    first, then each class's recall; accuracy second."""
    where = f"on {test['samples']:,} held-out images"
    topk = f"top-{test['top_k']} {test['top_k_accuracy']:.4f}"
    if test.get("lead") != "balanced_accuracy":
        return [f"Test accuracy {test['accuracy']:.4f} {where} ({topk}, macro F1 {test['macro_f1']:.4f})"]
    recalls = ", ".join(f"{c['class']} {c['recall']:.2f}" for c in test["per_class"][:20])
    more = ", ..." if len(test["per_class"]) > 20 else ""
    return [
        f"Test balanced accuracy {test['balanced_accuracy']:.4f}, macro F1 {test['macro_f1']:.4f} {where} "
        f"(accuracy {test['accuracy']:.4f}, {topk}; {test['lead_reason']})",
        f"  recall per class: {recalls}{more}",
    ]


def figures_section(test: dict[str, Any], auc: float | None) -> list[str]:
    """The figures, per-class table and confusion matrix; on skewed data the balanced figures, each
    class's recall and the confusion matrix come first, and accuracy after them."""
    balanced = test.get("lead") == "balanced_accuracy"
    headline = [
        *([f"| balanced accuracy (mean per-class recall) | {test['balanced_accuracy']:.4f} |"] if balanced else []),
        *([f"| macro F1 | {test['macro_f1']:.4f} |"] if balanced else []),
        f"| accuracy | {test['accuracy']:.4f} |",
        *(
            [f"| balanced accuracy (mean per-class recall) | {test['balanced_accuracy']:.4f} |"]
            if not balanced and "balanced_accuracy" in test
            else []
        ),
        f"| top-{test['top_k']} accuracy | {test['top_k_accuracy']:.4f} |",
        f"| macro ROC-AUC (one-vs-rest) | {'n/a' if auc is None else f'{auc:.4f}'} |",
        *([] if balanced else [f"| macro F1 | {test['macro_f1']:.4f} |"]),
    ]
    per_class = (
        ["| class | recall | precision | F1 | support |", "|---|---|---|---|---|"]
        + [
            f"| {c['class']} | {c['recall']:.4f} | {c['precision']:.4f} | {c['f1']:.4f} | {c['support']} |"
            for c in test["per_class"]
        ]
        if balanced
        else ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        + [
            f"| {c['class']} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | {c['support']} |"
            for c in test["per_class"]
        ]
    )
    why = [f"Balanced accuracy and macro F1 first: {test['lead_reason']}; accuracy rewards the big classes.", ""]
    return [
        *(why if balanced else []),
        "| figure | value |",
        "|---|---|",
        f"| test images | {test['samples']} |",
        *headline,
        "",
        *per_class,
        "",
        *(_matrix_table(test) if balanced else []),
        "![confusion matrix](confusion_matrix.png)",
        "",
    ]


def _matrix_table(test: dict[str, Any]) -> list[str]:
    """The confusion matrix as text (rows: true class, columns: predicted), for up to 20 classes."""
    names = [c["class"] for c in test["per_class"]]
    if len(names) > 20:
        return []
    return [
        "Confusion matrix (rows: true class, columns: predicted):",
        "",
        "| true \\ predicted | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
        *(
            f"| {name} | " + " | ".join(str(v) for v in row) + " |"
            for name, row in zip(names, test["confusion_matrix"])
        ),
        "",
    ]


def render_markdown(card: dict[str, Any]) -> str:
    """The card for people: a page that reads top to bottom."""
    search, training, test = card["search"], card["training"], card["test"]
    shape = "x".join(str(d) for d in card["input"]["shape"])
    auc = test["macro_roc_auc"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"Exported {card['created']} by cnnsearch {card['versions'].get('cnnsearch', '?')} "
        f"from trial {search['trial']} of study `{search['study']}`.",
        "",
        "## Input and output",
        "",
        f"- Input: `{card['input']['dtype']}` images, shape `{shape}` (height x width x channels), values 0-255, batch first.",
        f"- Conversion: {card['input']['conversion']}",
        *([f"- Pixel scaling: {card['input']['scaling']}."] if card["input"].get("scaling") else []),
        f"- Output: softmax probabilities over {len(card['classes'])} classes, in this order: "
        + ", ".join(f"`{c}`" for c in card["classes"]),
        "",
        "## Test results (held-out test set, never seen by the search)",
        "",
        *figures_section(test, auc),
        *objectives_markdown(card),
        "## Training",
        "",
        f"- Search: `{search['metric']}` ({search['direction']}) = {search['value']:.4f} on the validation split, "
        + (
            f"picked ({card['objectives']['pick']}) from {search['finished_trials']} finished trials"
            if (card.get("objectives") or {}).get("pick")
            else f"best of {search['finished_trials']} finished trials"
        )
        + f"; MLflow run `{search['mlflow_run_id']}`.",
        *_shipped_lines(card),
        f"- Seed {training['seed']}; Keras backend `{training['backend']}`; {card['model']['param_count']:,} parameters.",
        "",
        "![training curves](training_curves.png)",
        "",
        "### Parameters",
        "",
        "| param | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in card["params"].items()),
        "",
        "## Exported files",
        "",
        "Each file was reloaded after writing and its test predictions compared with the trained model's.",
        "",
        "| format | file | test accuracy | max probability difference |",
        "|---|---|---|---|",
        *(
            f"| {e['format']} | `{Path(e['path']).name}` | {e['accuracy']:.4f} | {e['max_prob_diff']:.2e} |"
            for e in card["exports"]
        ),
        "",
    ]
    mlflow = card.get("mlflow") or {}
    if mlflow:
        lines += [
            "## MLflow",
            "",
            f"- Run `{mlflow['run_id']}` (experiment `{mlflow['experiment']}`), under the study's run `{mlflow['parent_run_id']}`.",
            f"- Registered model `{mlflow['registered_model']}`, version {mlflow['version']}"
            + (" (alias `champion`)." if mlflow.get("champion") else "."),
            "",
        ]
    lines += [
        "## Versions",
        "",
        *(f"- {k}: {v}" for k, v in card["versions"].items()),
        "",
        "## Resolved spec",
        "",
        "```toml",
        card["spec_toml"].rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)
