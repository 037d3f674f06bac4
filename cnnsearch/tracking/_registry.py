"""MLflow side of an export: a run under the study's parent run, the Keras model, the registry.

Each export is its own run (``cnnsearch.kind = export``) nested under the study's
run, holding the model (a Python function over the ``.keras`` file that checks its
uint8 input contract, see ``_pyfunc_model``), the card and
its plots. The model is registered under the study's name, so every export adds a
version to the Model Registry; :func:`describe_version` gives the version its
description, tags and, when it beats the current one, the ``champion`` alias.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnsearch._keys import KIND_TAG, PARENT_TAG, STUDY_TAG, TRIAL_TAG
from cnnsearch.spec import Spec
from cnnsearch.tracking._client import Tracker

if TYPE_CHECKING:  # `cnnsearch serve` reads the registry here without paying for Keras
    import keras

EXPORT_KIND = "export"
#: The registry alias of the best export so far, by test accuracy (see :data:`CHAMPION_RULE`).
CHAMPION = "champion"
CHAMPION_RULE = (
    "The alias `champion` moves to a new version only when its test accuracy is strictly higher than "
    "the current champion's (the first version becomes champion; a tie keeps the older one)."
)


def start_export_run(tracker: Tracker, parent_run_id: str | None, trial_number: int) -> str:
    """A run for this export, nested under the study's run when the study has one."""
    tags = {KIND_TAG: EXPORT_KIND, STUDY_TAG: tracker.spec.study.name, TRIAL_TAG: str(trial_number)}
    if parent_run_id:
        tags[PARENT_TAG] = parent_run_id
    run = tracker.client.create_run(tracker.experiment_id, run_name=f"export-trial-{trial_number}", tags=tags)
    return run.info.run_id


def log_model(
    tracker: Tracker,
    run_id: str,
    model: keras.Model,
    images: np.ndarray,
    probs: np.ndarray,
    classes: list[str] | None = None,
) -> tuple[str, str]:
    """Log the inference model as an MLflow Python function and register it; returns (model name, version).

    The function is :mod:`cnnsearch.tracking._pyfunc_model`, logged as code beside the
    ``.keras`` file: it checks every batch against the input contract stated in the
    model's metadata (whole-number pixel values 0-255) instead of letting MLflow cast
    a float request to uint8. Only the output is in the signature (see that module).
    """
    import tempfile

    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    from cnnsearch.tracking import _pyfunc_model

    name = registered_name(tracker.spec)
    shape = tuple(int(d) for d in images.shape[1:])
    signature = ModelSignature(outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, int(probs.shape[1])), "probs")]))
    metadata = {"input": input_contract(shape), "classes": list(classes or [])}
    # MLflow prints "Successfully registered ..." itself; cnnsearch says it once, in its own words.
    quiet = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="cnnsearch-model-") as scratch:
        keras_file = Path(scratch) / "model.keras"
        model.save(keras_file)
        with (
            tracking_uri_set(tracker.uri),
            mlflow.start_run(run_id=run_id),
            contextlib.redirect_stdout(quiet),
            contextlib.redirect_stderr(quiet),
            warnings.catch_warnings(),
        ):
            # No input example on purpose: the contract is in the metadata; MLflow would remind us on stderr.
            warnings.filterwarnings("ignore", ".*An input example was not provided", UserWarning)  # colour codes first
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=_pyfunc_model.__file__,
                artifacts={_pyfunc_model.KERAS_ARTIFACT: str(keras_file)},
                signature=signature,
                metadata=metadata,
                pip_requirements=_requirements(),
                registered_model_name=name,
            )
    version = info.registered_model_version
    if version is None:
        raise RuntimeError(f"MLflow did not register model '{name}'")
    return name, str(version)


def input_contract(shape: tuple[int, ...]) -> str:
    """What a caller sends, in one sentence: the model's metadata, `cnnsearch serve` and the README say it."""
    dims = ", ".join(str(d) for d in shape)
    return (
        f"a batch of images shaped (N, {dims}) with pixel values 0-255 as uint8 "
        '(JSON: {"inputs": [...]} of whole numbers); floats are accepted only as whole numbers 0-255, '
        "and a batch scaled to [0, 1] is refused (HTTP 400)"
    )


def _requirements() -> list[str]:
    """The served model's packages, pinned to this environment's versions (MLflow's own guess costs a process)."""
    from importlib import metadata

    import keras

    backend = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(keras.backend.backend())
    pinned = []
    for package in ("mlflow", "keras", "numpy", backend):
        if package:
            try:
                pinned.append(f"{package}=={metadata.version(package)}")
            except metadata.PackageNotFoundError:
                pinned.append(package)
    return pinned


@contextlib.contextmanager
def tracking_uri_set(uri: str) -> Iterator[None]:
    """MLflow's fluent API (which ``log_model`` needs) on this store, for this block only.

    ``mlflow.set_tracking_uri`` also sets ``MLFLOW_TRACKING_URI`` for the whole process;
    both are put back, so later work in the same process is not sent to this store.
    MLflow has no public way to read or restore "no URI set" (``get_tracking_uri``
    answers the default instead), hence its private ``_tracking_uri``, read here only;
    ``tests/unit/tracking/test_mlflow_internals.py`` breaks if MLflow changes it.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = os.environ.get("MLFLOW_TRACKING_URI")
    saved = tracking_utils._tracking_uri
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri = saved  # may be None: the default store again
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env


def registered_name(spec: Spec) -> str:
    """The Model Registry name: the study's name."""
    return spec.study.name


def finish_export_run(
    tracker: Tracker,
    run_id: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: list[Path],
    ok: bool,
) -> None:
    """Params, test metrics and the card's files on the run; closed FINISHED, or FAILED."""
    if ok:
        tracker.log_params(run_id, params)
        tracker.log_metrics(run_id, 0, metrics)
        for path in artifacts:
            if path.is_file():
                tracker.client.log_artifact(run_id, str(path), artifact_path="card")
    tracker.client.set_terminated(run_id, status="FINISHED" if ok else "FAILED")


@dataclass(frozen=True)
class VersionNote:
    """What a registry version says of itself: its description, tags and whether it is the champion."""

    description: str
    tags: dict[str, str]
    champion: bool
    previous: str | None  # the champion before this export, if any


def describe_version(tracker: Tracker, name: str, version: str, card: dict[str, Any], spec_sha256: str) -> VersionNote:
    """Give the new version a description, tags and, if it beats the current champion, the alias."""
    client = tracker.client
    accuracy = float(card["test"]["accuracy"])
    search = card["search"]
    previous, previous_accuracy = _champion(tracker, name)
    # Compared as the tag stores it (6 decimals): 66/360 = 0.18333... must tie with its own tag "0.183333".
    champion = previous_accuracy is None or round(accuracy, 6) > round(previous_accuracy, 6)
    if champion:
        standing = "On export it took the alias `champion`" + (
            f" (it beat version {previous}'s {previous_accuracy:.4f})." if previous else " (the first version)."
        )
    else:
        standing = f"On export the `champion` stayed version {previous} (test accuracy {previous_accuracy:.4f})."
    description = (
        f"cnnsearch study `{search['study']}`, trial {search['trial']} "
        f"({search['metric']} {search['value']:.4f} in the search). Test accuracy {accuracy:.4f} on "
        f"{card['test']['samples']} held-out images. Shipped: {card['shipped']['description']}. "
        f"{standing} {CHAMPION_RULE}"
    )
    tags = {
        "test_accuracy": f"{accuracy:.6f}",
        "study": str(search["study"]),
        "trial": str(search["trial"]),
        "spec_sha256": spec_sha256,
    }
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if champion:
        client.set_registered_model_alias(name, CHAMPION, version)
    return VersionNote(description, tags, champion, previous)


def _champion(tracker: Tracker, name: str) -> tuple[str | None, float | None]:
    """The current champion's version and test accuracy (its tag, else its run's metric); None if none."""
    from mlflow.exceptions import MlflowException

    try:
        current = tracker.client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, None
    value: str | float | None = current.tags.get("test_accuracy")
    if value is None and current.run_id:  # a version registered before these tags
        value = tracker.client.get_run(current.run_id).data.metrics.get("test_accuracy")
    return str(current.version), float(value) if value is not None else float("-inf")  # an int from MLflow here
