"""``[export] rerank = N``: re-rank the N best trials by k-fold cross-validation before shipping.

A study scored on one validation split ranks its trials by a noisy figure (one image of
216 is half a point). Re-ranking trains each of the N best trials' networks again on
``rerank_folds`` cross-validation folds of train + validation (the test split stays out)
and picks the one with the best fold mean. It costs N x k trainings at export time, once,
instead of k times every trial as ``study.folds`` does. The winner's fold models are what
an ``ensemble`` ships; ``checkpoint`` and ``retrain`` apply to the winner as usual.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import optuna

from cnnsearch.data import Splits, cross_validation_folds
from cnnsearch.export._formats import ExportError
from cnnsearch.models import inference_for
from cnnsearch.search import build_for_trial, suggest
from cnnsearch.spec import Spec
from cnnsearch.training import fit, standard_callbacks

Say = Callable[[str], None]


@dataclass
class Reranked:
    """The winner of the re-ranking, its fold models (inference twins) and every candidate's figures."""

    winner: optuna.trial.FrozenTrial
    models: list[keras.Model]
    #: One row per candidate, best first: trial, the study's value, fold values and their mean.
    table: list[dict[str, Any]] = field(default_factory=list)


def rerank(spec: Spec, trials: list[optuna.trial.FrozenTrial], splits: Splits, say: Say) -> Reranked:
    """Cross-validate the ``export.rerank`` best of ``trials`` (ranked, best first); keep the winner's models."""
    candidates = trials[: spec.export.rerank]
    k = spec.export.rerank_folds
    folds = cross_validation_folds(splits, k, spec.study.seed)
    metric, direction = spec.study.metric, spec.study.direction
    sign = 1.0 if direction == "maximize" else -1.0
    say(f"Re-ranking the {len(candidates)} best trials by {k}-fold cross-validation ({len(candidates) * k} trainings)")
    table: list[dict[str, Any]] = []
    best_models: list[keras.Model] = []
    best_score = -math.inf
    winner = candidates[0]
    for trial in candidates:
        values, models = [], []
        for i in range(k):
            model, value = _fit_fold(spec, trial, folds[i], seed=spec.study.seed + 7919 * (i + 1))
            values.append(value)
            models.append(model)
        mean = float(np.mean(values))
        table.append({"trial": trial.number, "value": trial.value, "folds": values, "mean": mean})
        say(
            f"  trial {trial.number:>3}: {metric} {trial.value:.4f} on the search's split; by fold "
            + ", ".join(f"{v:.4f}" for v in values)
            + f", mean {mean:.4f}"
        )
        if sign * mean > best_score:
            best_score, winner, best_models = sign * mean, trial, models
        else:
            del models
    table.sort(key=lambda row: -sign * row["mean"])
    say(f"Trial {winner.number} wins the re-ranking ({metric} mean {sign * best_score:.4f} over {k} folds)")
    return Reranked(winner, best_models, table)


def _fit_fold(spec: Spec, trial: optuna.trial.FrozenTrial, fold: Splits, seed: int) -> tuple[keras.Model, float]:
    """Train the trial's network on one fold as the search did (early stopping on the metric)."""
    metric, direction = spec.study.metric, spec.study.direction
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy("float32")
    fixed = optuna.trial.FixedTrial(dict(trial.params))
    params = suggest(fixed, spec)
    network = build_for_trial(spec, fixed, params, fold.input_shape, fold.num_classes)
    callbacks = standard_callbacks(params, metric, direction)
    history = fit(
        network.model, fold, {**params, **network.compile_params}, callbacks, compile_config=network.compile_config
    ).history
    series = [v for v in history.get(metric, []) if math.isfinite(v)]
    if not series:
        raise ExportError(f"export.rerank: trial {trial.number} logged no finite '{metric}' on a fold")
    value = max(series) if direction == "maximize" else min(series)
    params.update(network.hp_values)
    twin = inference_for(spec.model.hypermodel, network.model, params, fold.input_shape, fold.num_classes)
    return twin, float(value)
