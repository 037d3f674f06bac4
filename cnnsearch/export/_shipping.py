"""What an export ships, by a rule fixed in the spec before any test figure is seen.

``[export] ship``:

- ``retrain``: the best trial's params retrained on train + validation, for as many
  epochs as the trial kept (its best epoch + 1), seeded;
- ``checkpoint``: the best trial's kept weights (``mlruns/weights/<study>/``) as they are;
- ``ensemble``: the mean of the probabilities of the ``ensemble_size`` best trials'
  kept checkpoints, as one Keras model (so every format, ``predict`` and the registry
  work unchanged); with ``study.folds = k``, the mean of the k fold models of the
  ``export.fold_trials`` best trials (1: the best trial's).

Then ``[export] test_time_flips`` may wrap the result so that it averages each image with
its mirror (``_flips.py``).

A rule that needs checkpoints falls back to ``retrain`` (and says so) when the best
trial kept none; an ensemble takes the kept checkpoints there are (``study.keep_top_k``
bounds them), saying so when that is fewer than ``ensemble_size``. ``docs/benchmarks.md`` has the measurements behind the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import optuna

from cnnsearch._keys import BEST_EPOCH_ATTR, EPOCHS_RUN_ATTR, FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FOLD_VALUES_ATTR
from cnnsearch.data import Splits
from cnnsearch.export import _weights_source as source
from cnnsearch.export._flips import wants_flips, with_flips
from cnnsearch.export._formats import ExportError
from cnnsearch.export._rerank import Reranked, rerank
from cnnsearch.models import inference_for
from cnnsearch.search import build_for_trial, fold_files, kept, ranked, score, suggest
from cnnsearch.spec import Spec
from cnnsearch.training import EpochReporter, fit_full

Say = Callable[[str], None]


@dataclass
class Shipped:
    """The inference model to export (uint8 images in, probabilities out) and how it was made."""

    model: keras.Model
    rule: str
    description: str
    #: Each member: trial number, its validation value, the weights file (or None for a retrain).
    members: list[dict[str, Any]]
    #: The best trial's params (with a hypermodel's own values).
    params: dict[str, Any]
    #: Epochs, the rule behind them, training samples, seed (retrain) or the checkpoints' origin.
    training: dict[str, Any]
    #: The retrain's loss and accuracy per epoch; empty when nothing was retrained.
    history: dict[str, list[float]] = field(default_factory=dict)
    #: The trial shipped (the study's best, or the winner of ``[export] rerank``).
    trial: optuna.trial.FrozenTrial | None = None
    #: ``[export] rerank``: each candidate's fold values and mean, best first; empty without it.
    rerank: list[dict[str, Any]] = field(default_factory=list)


def retrain_epochs(trial: optuna.trial.FrozenTrial, params: dict[str, Any]) -> tuple[int, str]:
    """Epochs for the final retrain and why: up to the epoch early stopping kept (its best epoch)."""
    best_epoch = trial.user_attrs.get(BEST_EPOCH_ATTR)
    epochs_run = trial.user_attrs.get(EPOCHS_RUN_ATTR)
    if isinstance(best_epoch, int):
        why = (
            f"the best trial ran {epochs_run} epochs and early stopping kept the weights of epoch "
            f"{best_epoch + 1} (its best {'' if epochs_run is None else 'validation '}score), so the retrain runs {best_epoch + 1}."
        )
        return best_epoch + 1, why
    if isinstance(epochs_run, int):
        return epochs_run, f"the best trial ran {epochs_run} epochs."
    return int(params["epochs"]), f"the trial recorded no epoch count; the spec's {params['epochs']} epochs."


def ship(
    spec: Spec,
    study: optuna.Study,
    splits: Splits,
    say: Say,
    rule: str | None = None,
    picked: optuna.trial.FrozenTrial | None = None,
) -> Shipped:
    """The model ``rule`` (default: the spec's ``[export] ship``) gives for this study.

    A ``picked`` trial (``best --pick``, or a multi-objective study's default) ships alone: its
    kept checkpoint (``ensemble`` too: a mean of several trials would not have its costs), or its
    retrain with ``ship = "retrain"``.
    """
    rule = rule or spec.export.ship
    if picked is not None:
        if rule == "ensemble":
            say(f"Shipping trial {picked.number} alone: an ensemble of trials would change the costs it was picked for")
        return _ship_ranked(spec, [picked], splits, say, "retrain" if rule == "retrain" else "checkpoint")
    return _mirrored(spec, _ship_best(spec, study, splits, say, rule), say)


def _mirrored(spec: Spec, shipped: Shipped, say: Say) -> Shipped:
    """``shipped`` with test-time flips when ``[export] test_time_flips`` asks for them."""
    if not wants_flips(spec, shipped.params):
        return shipped
    say(f"Test-time flips: the mean of each image and its mirror (trained with flip = {shipped.params.get('flip')!r})")
    shipped.model = with_flips(shipped.model)
    shipped.description += " with test-time flips"
    shipped.training["test_time_flips"] = True
    return shipped


def _ship_best(spec: Spec, study: optuna.Study, splits: Splits, say: Say, rule: str) -> Shipped:
    """``rule`` on the study's ranked trials (after ``[export] rerank`` when set)."""
    trials = ranked(study)
    if not trials:
        raise ExportError(f"study '{study.study_name}' has no complete trial yet: nothing to export")
    if spec.export.rerank and len(trials) > 1:
        result = rerank(spec, trials, splits, say)
        if rule == "ensemble":
            shipped = _rerank_ensemble(spec, result, splits, say)
        else:  # the winner first, then as without re-ranking
            shipped = _ship_ranked(
                spec, [result.winner, *(t for t in trials if t is not result.winner)], splits, say, rule
            )
        shipped.rerank = result.table
        return shipped
    return _ship_ranked(spec, trials, splits, say, rule)


def _ship_ranked(spec: Spec, trials: list[optuna.trial.FrozenTrial], splits: Splits, say: Say, rule: str) -> Shipped:
    """``rule`` applied to ``trials``, best first."""
    shipped = _by_rule(spec, trials, splits, say, rule)
    shipped.trial = trials[0]
    return shipped


def _by_rule(spec: Spec, trials: list[optuna.trial.FrozenTrial], splits: Splits, say: Say, rule: str) -> Shipped:
    wanted = max(spec.export.ensemble_size, spec.export.fold_trials, 1) if rule != "retrain" else 0
    sources = source.fetch_missing(spec, trials[:wanted], say)  # from MLflow, where the store is shared
    files = kept(spec)
    if rule != "retrain" and trials[0].number not in files:
        why = source.missing_reason(spec, trials, trials[0].number)
        say(f"Trial {trials[0].number} has no kept weights here: {why}. Retraining it instead")
        rule = "retrain"
    if rule == "retrain":
        return _retrain(spec, trials[0], splits, say)
    if rule == "ensemble" and spec.study.folds > 1:
        shipped = _fold_ensemble(spec, trials, splits, say)
        shipped.training["weights_from"] = sources.origin([int(r["trial"]) for r in shipped.members])
        say(f"Weights: {shipped.training['weights_from']}")
        return shipped
    size = 1 if rule == "checkpoint" else spec.export.ensemble_size
    members, note = ensemble_members(trials, set(files), size)
    if note:
        say(note)
    elif len(members) < size:
        say(
            f"Only {len(members)} of the {size} best trials' weights are kept (study.keep_top_k = {spec.study.keep_top_k})"
        )
    twins: list[keras.Model] = []
    params: dict[str, Any] = {}
    for trial in members:
        twin, trial_params = _from_checkpoint(spec, trial, files[trial.number], splits)
        twins.append(twin)
        params = params or trial_params
    records = [{"trial": t.number, "value": float(score(t) or 0.0), "weights": files[t.number].name} for t in members]
    training = {
        "train_samples": int(len(splits.x_train)),
        "seed": spec.study.seed,
        "checkpoints": "the trials' own",
        "weights_from": sources.origin([t.number for t in members]),
    }
    say(f"Weights: {training['weights_from']}")
    if len(twins) == 1:
        say(f"Shipping trial {members[0].number}'s kept checkpoint ({spec.study.metric} {score(members[0]):.4f})")
        return Shipped(
            twins[0], "checkpoint", f"trial {members[0].number}'s kept checkpoint", records, params, training
        )
    description = "mean of trials " + ", ".join(str(t.number) for t in members)
    say(f"Shipping the {description} ({spec.study.metric} " + ", ".join(f"{score(t):.4f}" for t in members) + ")")
    return Shipped(average(twins), "ensemble", description, records, params, training)


def ensemble_members(
    trials: list[optuna.trial.FrozenTrial], kept_numbers: set[int], size: int
) -> tuple[list[optuna.trial.FrozenTrial], str | None]:
    """The ``size`` best trials with kept weights, and why fewer, if a rule chose fewer.

    When the best is the final training of ``study.final_share``, it ships alone: the other trials
    trained for ``train.epochs`` only, and on the CIFAR-10 subset averaging them in cost 2.3 test
    points (0.5890 against 0.6116 for the final alone, docs/benchmarks.md).
    """
    with_weights = [t for t in trials if t.number in kept_numbers]
    if size > 1 and with_weights and FINAL_EPOCHS_ATTR in with_weights[0].user_attrs:
        best = with_weights[0]
        # study.final_others = "seeds": the trainings beside it trained the same params as long.
        of = best.user_attrs.get(FINAL_OF_ATTR)
        group = [t for t in with_weights if FINAL_EPOCHS_ATTR in t.user_attrs and t.user_attrs.get(FINAL_OF_ATTR) == of]
        if len(group) > 1:
            group = group[:size]
            return group, (
                "Trials " + ", ".join(str(t.number) for t in group) + " are the final training and the same params "
                'with other seeds, until the study\'s deadline (study.final_others = "seeds"): shipping their mean'
            )
        return [best], (
            f"Trial {best.number} is the final training ({_final_epochs(best)}until the study's deadline); "
            "the other trials trained for train.epochs only: shipping it alone"
        )
    return with_weights[:size], None


def _final_epochs(trial: optuna.trial.FrozenTrial) -> str:
    epochs = trial.user_attrs.get(EPOCHS_RUN_ATTR)
    return f"{epochs} epochs, " if epochs is not None else ""


def _fold_ensemble(spec: Spec, trials: list[optuna.trial.FrozenTrial], splits: Splits, say: Say) -> Shipped:
    """With ``study.folds = k``: the mean of the k fold models of the ``export.fold_trials`` best trials.

    Each member trained on k-1 folds and was validated on the fold it never saw, so its
    figure is honest, and together they have seen every training image.
    """
    best = trials[0]
    chosen = [t for t in trials if fold_files(spec, t.number)][: spec.export.fold_trials]
    if len(chosen) < spec.export.fold_trials:
        say(f"Only {len(chosen)} of the {spec.export.fold_trials} best trials kept fold models")
    twins: list[keras.Model] = []
    params: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for trial in chosen:
        files = fold_files(spec, trial.number)
        values = [float(v) for v in trial.user_attrs.get(FOLD_VALUES_ATTR, [])]
        if len(files) < spec.study.folds:
            say(f"Only {len(files)} of trial {trial.number}'s {spec.study.folds} fold checkpoints are kept")
        for i, path in enumerate(files):
            twin, trial_params = _from_checkpoint(spec, trial, path, splits)
            twins.append(twin)
            params = params or trial_params
            records.append(
                {
                    "trial": trial.number,
                    "fold": i,
                    "value": values[i] if i < len(values) else None,
                    "weights": path.name,
                }
            )
    folds = len(fold_files(spec, best.number))
    pool = len(splits.x_train) + len(splits.x_val)
    numbers = ", ".join(str(t.number) for t in chosen)
    training = {
        "train_samples": int(pool - pool // max(folds, 1)),
        "seed": spec.study.seed,
        "checkpoints": f"trial{'s' if len(chosen) > 1 else ''} {numbers}'s cross-validation fold models",
    }
    if len(twins) == 1:
        say(f"Shipping trial {best.number}'s kept checkpoint ({spec.study.metric} {score(best):.4f})")
        return Shipped(twins[0], "checkpoint", f"trial {best.number}'s kept checkpoint", records, params, training)
    if len(chosen) == 1:
        description = f"mean of trial {best.number}'s {len(twins)} fold models"
    else:
        description = f"mean of trials {numbers}'s fold models ({len(twins)} networks)"
    shown = "; ".join(
        f"trial {t.number}: " + ", ".join(f"{v:.4f}" for v in t.user_attrs.get(FOLD_VALUES_ATTR, [])) for t in chosen
    )
    say(f"Shipping the {description} ({spec.study.metric} by fold: {shown})")
    return Shipped(average(twins), "ensemble", description, records, params, training)


def _rerank_ensemble(spec: Spec, result: Reranked, splits: Splits, say: Say) -> Shipped:
    """The re-ranking winner's fold models, averaged."""
    winner = result.winner
    row = next(r for r in result.table if r["trial"] == winner.number)
    records = [{"trial": winner.number, "fold": i, "value": v, "weights": None} for i, v in enumerate(row["folds"])]
    pool = len(splits.x_train) + len(splits.x_val)
    k = len(result.models)
    training = {
        "train_samples": int(pool - pool // k),
        "seed": spec.study.seed,
        "checkpoints": f"trial {winner.number} trained again on {k} cross-validation folds (export.rerank)",
    }
    params = suggest(optuna.trial.FixedTrial(dict(winner.params)), spec)
    description = f"mean of trial {winner.number}'s {k} fold models (re-ranked best of {len(result.table)})"
    say(f"Shipping the {description}")
    shipped = Shipped(average(result.models), "ensemble", description, records, params, training)
    shipped.trial = winner
    return shipped


def average(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' probabilities (members renamed ``member_i``)."""
    inputs = keras.Input(shape=members[0].input_shape[1:], dtype=members[0].inputs[0].dtype, name="image")
    outputs = []
    for i, member in enumerate(members):
        member.name = f"member_{i}"
        outputs.append(member(inputs))
    mean = keras.layers.Average(name="mean_probabilities", dtype="float32")(outputs)
    return keras.Model(inputs, mean, name="cnnsearch_ensemble")


def _from_checkpoint(
    spec: Spec, trial: optuna.trial.FrozenTrial, weights: Any, splits: Splits
) -> tuple[keras.Model, dict[str, Any]]:
    """A kept trial's inference twin: its network rebuilt from its params, its best-epoch weights loaded."""
    keras.mixed_precision.set_global_policy("float32")  # the export runs in float32, whatever the trials did
    fixed = optuna.trial.FixedTrial(dict(trial.params))
    params = suggest(fixed, spec)
    network = build_for_trial(spec, fixed, params, splits.input_shape, splits.num_classes)
    params.update(network.hp_values)
    network.model.load_weights(str(weights))
    twin = inference_for(spec.model.hypermodel, network.model, params, splits.input_shape, splits.num_classes)
    return twin, params


def _retrain(spec: Spec, best: optuna.trial.FrozenTrial, splits: Splits, say: Say) -> Shipped:
    """Seeded, deterministic (on TensorFlow) retrain on train + validation."""
    fixed = optuna.trial.FixedTrial(dict(best.params))
    params = suggest(fixed, spec)
    epochs, epochs_rule = retrain_epochs(best, params)
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    say(
        f"Retraining trial {best.number} ({spec.study.metric} {score(best):.4f}) on train + validation: "
        f"{len(x):,} images, {epochs} epochs, seed {spec.study.seed}"
    )
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.study.seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    network = build_for_trial(spec, fixed, params, splits.input_shape, splits.num_classes)
    params.update(network.hp_values)

    def show(epoch: int, metrics: dict[str, float]) -> None:
        say(
            f"  epoch {epoch + 1:>3}/{epochs}  loss {metrics.get('loss', math.nan):.4f}  "
            f"accuracy {metrics.get('accuracy', math.nan):.4f}  {metrics['epoch_time_s']:.1f}s"
        )

    callbacks = [EpochReporter([show], len(x)), keras.callbacks.TerminateOnNaN()]
    model = network.model
    fitted = fit_full(
        model, x, y, params, epochs, callbacks, compile_config=network.compile_config, class_names=splits.class_names
    ).history
    losses = fitted.get("loss", [])
    if not losses or not math.isfinite(losses[-1]):
        raise ExportError(f"retraining trial params diverged: loss became NaN at epoch {len(losses)}")
    twin = inference_for(spec.model.hypermodel, model, params, splits.input_shape, splits.num_classes)
    history = {k: [float(v) for v in fitted[k]] for k in ("loss", "accuracy") if k in fitted}
    training = {
        "epochs": epochs,
        "epochs_rule": epochs_rule,
        "trial_epochs_run": best.user_attrs.get(EPOCHS_RUN_ATTR),
        "trial_best_epoch": best.user_attrs.get(BEST_EPOCH_ATTR),
        "train_samples": int(len(x)),
        "seed": spec.study.seed,
        "deterministic": keras.backend.backend() == "tensorflow",
    }
    member = [{"trial": best.number, "value": float(score(best) or 0.0), "weights": None}]
    description = f"trial {best.number} retrained on train + validation for {epochs} epochs"
    return Shipped(twin, "retrain", description, member, params, training, history)
