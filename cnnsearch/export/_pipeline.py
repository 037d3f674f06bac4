"""Ship the best of a study: test it once on the held-out split, export it, verify every file.

The flow, one direction: study -> what to ship (``_shipping.py``: a retrain, the kept
checkpoint or the mean of the top checkpoints, each rebuilt through ``search.suggest``
on a ``FixedTrial``, so the same builder as the trials) -> inference model (uint8
input, no augmentation) -> test figures -> each format written, reloaded and
compared -> MLflow model + registry -> model card. Files are written to a
staging folder and moved into place only when everything agreed, so a failed export
never leaves a half export or replaces a good one.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np
import optuna

from cnnsearch import data as data_module
from cnnsearch import tracking as registry  # the export run, logged model and registry version
from cnnsearch._keys import PARENT_RUN_ATTR, RUN_ID_ATTR
from cnnsearch._paths import export_dir
from cnnsearch.errors import CnnsearchError
from cnnsearch.export._card import CONVERSION, figure_lines, versions, write_card
from cnnsearch.export._evaluation import classification_figures, plot_confusion_matrix, plot_training_curves
from cnnsearch.export._formats import Agreement, check_available, write_and_verify
from cnnsearch.export._objectives_card import measured_objectives, objectives_line
from cnnsearch.export._shipping import Shipped, ship
from cnnsearch.search import best_trial, load_study, pick_trial, score, trial_counts
from cnnsearch.spec import Spec, as_ran, measured_costs, spec_to_dict, spec_to_toml
from cnnsearch.tracking import Tracker

Say = Callable[[str], None]

#: Per dataset: how a caller turns its own pixels into the model's uint8 input (the card's ``input.scaling``).
PIXEL_SCALING = {
    "digits": "scikit-learn's digits are 0-16: pixel = round(v * 255 / 16), as uint8",
    "mnist": "the dataset's own uint8 pixels (0-255), unchanged",
    "fashion_mnist": "the dataset's own uint8 pixels (0-255), unchanged",
    "cifar10": "the dataset's own uint8 RGB pixels (0-255), unchanged",
    "directory": "the image files' 8-bit pixels (0-255); 16-bit images divided by 257",
    "npz": "uint8 arrays as stored; whole numbers in 0-255 cast to uint8; floats in [0, 1]: round(v * 255)",
}


@dataclass(frozen=True)
class ExportResult:
    """Where the export went, its model card, and how each format agreed with the trained model."""

    directory: Path
    card: dict[str, Any]
    agreements: list[Agreement]

    def summary(self) -> dict[str, Any]:
        """The few figures a caller reports: folder, test accuracy, formats, registry version."""
        mlflow = self.card["mlflow"]
        return {
            "directory": str(self.directory),
            "test_accuracy": self.card["test"]["accuracy"],
            "test_balanced_accuracy": self.card["test"]["balanced_accuracy"],
            "test_macro_f1": self.card["test"]["macro_f1"],
            "formats": [a.format for a in self.agreements],
            "registered_model": mlflow["registered_model"],
            "version": mlflow["version"],
            "champion": mlflow.get("champion"),
            "run_id": mlflow["run_id"],
        }


def default_directory(spec: Spec) -> Path:
    return export_dir(spec.study.name)


def export_best(
    spec: Spec,
    directory: Path | None = None,
    formats: list[str] | None = None,
    say: Say = print,
    pick: str | None = None,
) -> ExportResult:
    """The whole export; raises CnnsearchError (ExportError for a bad artifact) with one clear line.

    ``pick`` (``best --pick``, ``_pick.py``) ships one trial of the front; a multi-objective study
    ships its default pick, the most accurate feasible trial. Either way the card's ``objectives``
    are measured again on the exported model (``_objectives_card.py``).
    """
    formats = formats or ["keras", "saved_model", "onnx", "tflite"]
    check_available(formats)
    directory = directory or default_directory(spec)
    study = load_study(spec)
    spec = as_ran(spec, study.metric_names)  # "auto" as the study resolved it
    best = best_trial(study)
    if best is None:
        raise CnnsearchError(f"study '{study.study_name}' has no complete trial yet: nothing to export")
    chosen = pick_trial(study, spec, pick) if pick is not None or spec.study.objectives else None
    if chosen is not None:
        say(f"Picked trial {chosen.trial.number}: {chosen.rule}" + (f" ({chosen.note})" if chosen.note else ""))
    splits = data_module.load(spec.data, spec.study.seed)
    shipped = ship(spec, study, splits, say, picked=chosen.trial if chosen else None)
    best = shipped.trial or best  # [export] rerank may pick another trial than the study's best
    twin, params = shipped.model, shipped.params
    probs = _predict_all(twin, splits.x_test, splits.y_test)
    figures = classification_figures(splits.y_test, probs, splits.class_names, spec.study.metric)
    for line in figure_lines(figures):
        say(line)

    staging = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tracker = Tracker(spec)
    run_id = registry.start_export_run(tracker, study.user_attrs.get(PARENT_RUN_ATTR), best.number)
    ok = False
    artifacts: list[Path] = []
    try:
        agreements = []
        for name in formats:
            agreement = write_and_verify(name, twin, staging, splits.x_test, splits.y_test, probs)
            agreements.append(agreement)
            say(
                f"  {name:<12} {Path(agreement.path).name:<14} reloaded: test accuracy {agreement.accuracy:.4f}, "
                f"max probability difference {agreement.max_prob_diff:.1e}"
            )
        artifacts = [
            plot_confusion_matrix(figures["confusion_matrix"], splits.class_names, staging / "confusion_matrix.png"),
            plot_training_curves(
                shipped.history,
                _search_curves(tracker, best, spec.study.metric),
                spec.study.metric,
                staging / "training_curves.png",
            ),
        ]
        (staging / "spec.toml").write_text(spec_to_toml(spec))
        model_name, version = registry.log_model(tracker, run_id, twin, splits.x_test, probs, list(splits.class_names))
        card = _card(spec, study, best, shipped, splits, figures, agreements)
        if chosen is not None or measured_costs(spec.study):
            card["objectives"] = measured_objectives(spec, best, twin, figures, staging, chosen)
            say(objectives_line(card["objectives"]))
        card["mlflow"] = {
            "tracking_uri": tracker.uri,
            "experiment": spec.tracking.experiment,
            "run_id": run_id,
            "parent_run_id": study.user_attrs.get(PARENT_RUN_ATTR),
            "registered_model": model_name,
            "version": version,
        }
        # The version's description, tags and, if it beats the current champion, the alias.
        note = registry.describe_version(tracker, model_name, version, card, spec_sha256(spec))
        card["mlflow"]["champion"] = note.champion
        card["mlflow"]["previous_champion"] = note.previous
        card["mlflow"]["version_tags"] = note.tags
        artifacts += [*write_card(card, staging), staging / "spec.toml"]
        ok = True
    finally:
        metrics = {f"test_{k}": v for k, v in figures.items() if isinstance(v, float)}
        registry.finish_export_run(tracker, run_id, params, metrics, artifacts, ok)
        if not ok:
            shutil.rmtree(staging, ignore_errors=True)
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)
    return ExportResult(directory, card, agreements)


def spec_sha256(spec: Spec) -> str:
    """The sha256 of the resolved spec as exported (``spec.toml``): what the registry tag names."""
    return hashlib.sha256(spec_to_toml(spec).encode()).hexdigest()


def _search_curves(tracker: Tracker, trial: optuna.trial.FrozenTrial, metric: str) -> dict[str, list[float]]:
    """The best trial's per-epoch curves from its MLflow run; empty if the store no longer has them."""
    run_id = trial.user_attrs.get(RUN_ID_ATTR)
    if not run_id:
        return {}
    base = metric.removeprefix("val_")
    curves = {}
    try:
        for key in dict.fromkeys(["loss", "val_loss", base, f"val_{base}"]):
            history = sorted(tracker.client.get_metric_history(run_id, key), key=lambda m: m.step)
            if history:
                curves[key] = [m.value for m in history]
    except Exception:  # noqa: BLE001 - curves are a nicety; a missing run must not fail the export
        return {}
    return curves


def _card(
    spec: Spec,
    study: optuna.Study,
    best: optuna.trial.FrozenTrial,
    shipped: Shipped,
    splits: data_module.Splits,
    figures: dict[str, Any],
    agreements: list[Agreement],
) -> dict[str, Any]:
    height, width, channels = splits.input_shape
    return {
        "name": spec.study.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "classes": list(splits.class_names),
        "input": {
            "shape": [height, width, channels],
            "dtype": "uint8",
            "channels": channels,
            "value_range": [0, 255],
            "layout": "NHWC",
            "conversion": CONVERSION,
            "scaling": PIXEL_SCALING[spec.data.dataset],
        },
        "output": {"kind": "softmax probabilities", "dtype": "float32", "shape": [None, splits.num_classes]},
        "model": {
            "architecture": shipped.model.name,
            "param_count": int(shipped.model.count_params()),
            "augmentation_in_export": False,
        },
        "shipped": {
            "rule": shipped.rule,
            "asked": spec.export.ship,
            "description": shipped.description,
            "members": shipped.members,
            "rerank": shipped.rerank,
            "test_time_flips": bool(shipped.training.get("test_time_flips")),
        },
        "search": {
            "study": study.study_name,
            "metric": spec.study.metric,
            "direction": spec.study.direction,
            "value": score(best),
            "trial": best.number,
            "mlflow_run_id": best.user_attrs.get(RUN_ID_ATTR),
            "finished_trials": trial_counts(study).finished,
        },
        "params": shipped.params,
        "training": {
            **shipped.training,
            "test_samples": int(len(splits.y_test)),
            "backend": keras.backend.backend(),
        },
        "test": figures,
        "exports": [
            {
                "format": a.format,
                "path": Path(a.path).name,
                "accuracy": a.accuracy,
                "max_prob_diff": a.max_prob_diff,
                "label_agreement": a.label_agreement,
            }
            for a in agreements
        ],
        "versions": versions(keras.backend.backend()),
        "spec": spec_to_dict(spec),
        "spec_toml": spec_to_toml(spec),
        "files": {
            "confusion_matrix": "confusion_matrix.png",
            "training_curves": "training_curves.png",
            "spec": "spec.toml",
        },
    }


def _predict_all(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Class probabilities for every image of ``x``, in order: a streamed split (past ``data.memory_limit``)
    is read a batch at a time, not copied into memory whole."""
    if data_module.is_streamed(x):
        return np.asarray(model.predict(data_module.batches(x, y, 256, shuffle=False), verbose=0))
    return np.asarray(model.predict(x, batch_size=256, verbose=0))
