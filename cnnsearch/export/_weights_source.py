"""Where an export's kept weights come from, and the true reason when there are none.

This working folder's ``mlruns/weights/<study>/`` first; what it lacks is fetched from the
trials' MLflow runs when the tracking store is shared (``tracking/_weights.py``), so
``best --export`` works on any machine of a study. When the best trial's weights are in
neither, the retrain that follows says why: ``study.keep_top_k = 0``, the weights are on the
machine that trained it (a local store), they were evicted from the top-k, or the file is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from cnnsearch._keys import OWNER_ATTR, RUN_ID_ATTR
from cnnsearch.search import HOST, kept, weights_dir
from cnnsearch.spec import Spec
from cnnsearch.tracking import fetch_run_weights, shared_store, tracking_uri


@dataclass
class Sources:
    """Trial numbers whose weights were fetched from MLflow, by run id, and the store's URI."""

    uri: str
    fetched: dict[int, str] = field(default_factory=dict)

    def origin(self, numbers: list[int]) -> str:
        """Where these trials' weights were read from, for the model card."""
        remote = [n for n in numbers if n in self.fetched]
        if not remote:
            return "this folder's kept weights (mlruns/weights/)"
        runs = ", ".join(f"trial {n}: run {self.fetched[n]}" for n in remote)
        return f"fetched from the MLflow store {self.uri} ({runs})"


def fetch_missing(spec: Spec, trials: list[optuna.trial.FrozenTrial], say: Any) -> Sources:
    """Download the kept weights of ``trials`` this folder lacks, from their runs, where the store is shared."""
    uri = tracking_uri(spec)
    sources = Sources(uri)
    if not shared_store(uri) or spec.study.keep_top_k <= 0:
        return sources
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    have = kept(spec)
    for trial in trials:
        run_id = trial.user_attrs.get(RUN_ID_ATTR)
        if trial.number in have or not run_id:
            continue
        if fetch_run_weights(client, str(run_id), weights_dir(spec)):
            sources.fetched[trial.number] = str(run_id)
            say(f"Fetched trial {trial.number}'s kept weights from its MLflow run {run_id} ({uri})")
    return sources


def missing_reason(spec: Spec, trials: list[optuna.trial.FrozenTrial], number: int) -> str:
    """Why trial ``number`` has no kept weights here: the true cause, in a clause."""
    if spec.study.keep_top_k <= 0:
        return "study.keep_top_k = 0 keeps no weights"
    uri = tracking_uri(spec)
    rank = next((i for i, t in enumerate(trials) if t.number == number), None)
    trial = trials[rank] if rank is not None else None
    if rank is not None and rank >= spec.study.keep_top_k:
        return f"it ranks {rank + 1}th, outside the top study.keep_top_k = {spec.study.keep_top_k}: its weights were evicted"
    owner = trial.user_attrs.get(OWNER_ATTR) if trial is not None else None
    host = owner.get("host") if isinstance(owner, dict) else None
    if shared_store(uri):
        return f"its MLflow run in {uri} holds no weights (evicted, or trained by a cnnsearch that did not log them)"
    if host and host != HOST:
        return (
            f"its weights are on {host}, the machine that trained it, and the tracking store ({uri}) is local "
            "to each machine: set tracking.tracking_uri to a shared MLflow server to export from any machine"
        )
    return f"its weights file is not in {weights_dir(spec)} (deleted, or this is another working folder)"
