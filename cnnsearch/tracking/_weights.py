"""Kept weights that every machine reaches: a copy in the trial's MLflow run when the store is shared.

With the default local store (SQLite under ``mlruns/``) the kept weights stay where they are,
in ``mlruns/weights/<study>/`` (``search/_checkpoints.py``): only this folder can export them.
With a tracking store other machines read (an MLflow server, or any remote URI), a trial that
enters the top-k also logs its weight files as artifacts of its own run, under ``weights/``,
and a trial that falls out has them deleted there, where the artifact store allows deletion
(an MLflow server started with ``--serve-artifacts`` does; where it does not, the run keeps
them, and :func:`drop` says so once). ``cnnsearch best --export`` in any working folder then
fetches what it lacks (:func:`fetch_run_weights`) and says where its weights came from.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

#: The artifact folder of a trial run that holds its kept weights.
WEIGHTS_ARTIFACT_DIR = "weights"


def shared_store(uri: str) -> bool:
    """Whether other machines can read this tracking store: not a local SQLite file or file store."""
    return not uri.startswith(("sqlite:", "file:", "/", "."))


def log(client: Any, run_id: str, files: list[Path]) -> None:
    """Copy a trial's weight files (fold 0 first) into its run's ``weights/`` artifacts."""
    for path in files:
        client.log_artifact(run_id, str(path), WEIGHTS_ARTIFACT_DIR)


def drop(client: Any, run_id: str) -> str | None:
    """Delete a run's ``weights/`` artifacts; None when done, else why they stay."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        run = client.get_run(run_id)
        # The client's own server: an mlflow-artifacts URI resolves against the tracking URI given.
        repository = get_artifact_repository(run.info.artifact_uri, tracking_uri=client.tracking_uri)
        repository.delete_artifacts(WEIGHTS_ARTIFACT_DIR)
    except NotImplementedError:
        return "this artifact store cannot delete artifacts: evicted trials keep their weights in their runs"
    except Exception as exc:  # noqa: BLE001 - never fail a trial over the cleanup of another one
        return f"could not delete run {run_id}'s weights artifacts ({type(exc).__name__}: {exc})"[:300]
    return None


def listed(client: Any, run_id: str) -> list[str]:
    """The weight files a run holds as artifacts (their names), [] when none."""
    try:
        return [Path(a.path).name for a in client.list_artifacts(run_id, WEIGHTS_ARTIFACT_DIR) if not a.is_dir]
    except Exception:  # noqa: BLE001 - a run that is gone holds nothing
        return []


def fetch_run_weights(client: Any, run_id: str, destination: Path) -> list[Path]:
    """Download a run's ``weights/`` artifacts into ``destination``; the files written ([] if none).

    Fold files first and the trial's own file last, each moved in whole: the trial's own
    file marks the trial as kept (``search/_checkpoints.py``).
    """
    names = listed(client, run_id)
    if not names:
        return []
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(dir=destination, prefix=".fetch-") as scratch:
        local = Path(client.download_artifacts(run_id, WEIGHTS_ARTIFACT_DIR, scratch))
        for name in sorted(names, key=lambda n: ".fold-" not in n):
            target = destination / name
            shutil.move(str(local / name), target)
            written.append(target)
    return written
