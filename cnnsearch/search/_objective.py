"""One trial, end to end: suggest params, build, train, report, track.

Whatever happens inside, the trial's MLflow run is closed with the matching status
and a failure reason is recorded on both the Optuna trial and the MLflow run.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import keras
import numpy as np
import optuna

from cnnsearch._keys import (
    BEST_EPOCH_ATTR,
    COMPLETE,
    COSTS_ATTR,
    EPOCHS_RUN_ATTR,
    EXPLORATION_DEADLINE_ATTR,
    FAIL,
    FINAL_EPOCHS_ATTR,
    FOLD_VALUES_ATTR,
    INFEASIBLE_ATTR,
    INITIAL_ATTR,
    INTERRUPTED,
    KILLED,
    NEIGHBOUR_ATTR,
    PARAM_COUNT_ATTR,
    PRUNED,
    PRUNED_EPOCH_ATTR,
    PRUNED_FOLD_ATTR,
    REASON_ATTR,
    RUN_ID_ATTR,
    STOPPED_EPOCH_ATTR,
    TAG_PREFIX,
    TRACKING_ATTR,
)
from cnnsearch.data import Splits, cross_validation_folds
from cnnsearch.errors import TrialFailed, first_line
from cnnsearch.models import inference_for
from cnnsearch.search import _checkpoints as checkpoints
from cnnsearch.search._callbacks import PruningCallback, SafePoint, StopAtDeadline
from cnnsearch.search._cost_pruning import CostGroupRule, CurveTrial
from cnnsearch.search._faults import infrastructure_fault
from cnnsearch.search._final import exploring_deadline
from cnnsearch.search._multi_objective import Infeasible, constraint_values, infeasible_reason, objective_values
from cnnsearch.search._protocols import TrialDisplay, TrialTracking
from cnnsearch.search._suggest import build_for_trial, suggest
from cnnsearch.spec import Spec, is_multi_objective, limits, measured_costs
from cnnsearch.training import (
    MAX_LOGGED_CLASSES,
    EpochReporter,
    apply_precision,
    fit,
    measure_costs,
    per_class_metrics,
    resolve,
    standard_callbacks,
)


class Objective:
    """The callable Optuna optimizes; holds the data and tracking shared by all trials."""

    def __init__(
        self,
        spec: Spec,
        splits: Splits,
        tracker: TrialTracking,
        parent_run_id: str,
        display: TrialDisplay | None = None,
    ) -> None:
        self.spec = spec
        self.splits = splits
        #: The one validation split, or ``study.folds`` cross-validation folds of train + validation.
        self.folds = cross_validation_folds(splits, spec.study.folds, spec.study.seed)
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.display = display
        #: Precision, XLA and steps per execution: the spec's [performance], "auto" per device kind.
        self.performance = resolve(spec.performance)
        #: A ``time.monotonic()`` instant the final training of ``study.final_share`` stops at, if set.
        self.deadline: float | None = None
        #: ``study.final_share``'s exploration deadline (``time.monotonic()``): exploring trials still
        #: training then are pruned at their next epoch end (:func:`exploring_deadline`).
        self.explore_deadline: float | None = None
        #: Costs measured before training (cost objectives, hard limits; docs/multi-objective.md), and
        #: the rule that prunes a multi-objective study, where Optuna's trial.report raises.
        self.costs, self.limits = measured_costs(spec.study), limits(spec.study)
        self.cost_rule = CostGroupRule.for_spec(spec) if is_multi_objective(spec.study) else None
        self._trial_costs: dict[str, float] = {}
        # What is alive now (imported modules, the data) lives as long as the process. Out of the
        # collector's sight, the full collections each trial runs (clear_session, the worker loop)
        # stop scanning ~500k objects: about 0.25 CPU-s each on 2 cores (benchmarks/overhead.py).
        gc.collect()  # garbage first: a frozen object is never freed
        gc.freeze()

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        tracking_before = self.tracker.busy_s
        self._trial_costs = {}
        params = final_params(trial, suggest(trial, self.spec))
        run_id = self.tracker.start_trial(self.parent_run_id, trial.number, {**params, **self.performance.as_params()})
        trial.set_user_attr(RUN_ID_ATTR, run_id)
        if self.display is not None:
            self.display.trial_started(trial.number, params)
        state, value = FAIL, None
        tags: dict[str, Any] = {}
        try:
            if self._exploration_over(trial):
                state = PRUNED
                tags[EXPLORATION_DEADLINE_ATTR] = True
                raise optuna.TrialPruned("not started: study.final_share's exploration time ran out")
            value, outcome = self._train(trial, params, run_id)
            tags.update(outcome)
            if PRUNED_EPOCH_ATTR in outcome:
                state = PRUNED
                raise optuna.TrialPruned(f"pruned at epoch {outcome[PRUNED_EPOCH_ATTR]}")
            if PRUNED_FOLD_ATTR in outcome:
                state = PRUNED
                raise optuna.TrialPruned(f"pruned after fold {outcome[PRUNED_FOLD_ATTR]}")
            state = COMPLETE
            return value if self.cost_rule is None else objective_values(self.spec, value, self._trial_costs)
        except optuna.TrialPruned:
            raise
        except Infeasible as exc:  # over a hard limit: never trained, not a failure
            state = PRUNED
            tags[INFEASIBLE_ATTR] = exc.reason
            raise optuna.TrialPruned(exc.reason) from None
        except KeyboardInterrupt:
            state = KILLED
            self._record_failure(trial, tags, INTERRUPTED)
            raise
        except Exception as exc:  # noqa: BLE001 - any error fails this trial alone
            self._record_failure(trial, tags, describe(exc))
            raise
        finally:
            self.tracker.end_trial(run_id, state, value, {f"{TAG_PREFIX}{k}": str(v) for k, v in tags.items()})
            trial.set_user_attr(TRACKING_ATTR, round(self.tracker.busy_s - tracking_before, 4))

    def _exploration_over(self, trial: optuna.Trial) -> bool:
        """A queued exploring trial (a neighbour the exploration had no time for) reached after its deadline.

        Optuna starts the oldest queued trial first, so such a trial runs before the final training
        queued after it: it ends PRUNED with 0 epochs at once, and the final training keeps its time.
        """
        cutoff = exploring_deadline(trial, self.explore_deadline)
        if cutoff is None or time.monotonic() < cutoff:
            return False
        trial.set_user_attr(EXPLORATION_DEADLINE_ATTR, True)
        trial.set_user_attr(EPOCHS_RUN_ATTR, 0)
        return True

    def _train(self, trial: optuna.Trial, params: dict[str, Any], run_id: str) -> tuple[float, dict[str, Any]]:
        """Fit one model per fold; return the mean of their best-epoch metric and when training stopped.

        Fold 0 (the one validation split when ``study.folds = 1``) reports every epoch to the
        epoch pruners and logs the curves; later folds only run if it was not pruned. With the
        ``wilcoxon`` pruner, each fold's value is reported instead (step = fold).
        """
        metric, direction = self.spec.study.metric, self.spec.study.direction
        pick = max if direction == "maximize" else min
        wilcoxon = self.spec.study.pruner == "wilcoxon"
        values: list[float] = []
        best_epochs: list[int] = []
        models: list[keras.Model] = []
        outcome: dict[str, Any] = {}
        for fold in range(len(self.folds)):
            model, history, pruned_epoch = self._fit_fold(trial, params, run_id, fold, report_epochs=not wilcoxon)
            series = [v for v in history.get(metric, []) if math.isfinite(v)]
            if not series:
                raise TrialFailed(f"no finite '{metric}' value was logged" + (f" (fold {fold})" if fold else ""))
            best = float(pick(series))
            values.append(best)
            best_epochs.append(series.index(best))
            if fold == 0:
                outcome[EPOCHS_RUN_ATTR] = len(history.get(metric, []))
            if pruned_epoch is not None:
                outcome[PRUNED_EPOCH_ATTR] = pruned_epoch
                break
            models.append(model)
            if len(self.folds) > 1:
                self.tracker.log_metrics(run_id, fold, {f"fold_{metric}": best})
                if wilcoxon:
                    trial.report(best, step=fold)
                    if fold < len(self.folds) - 1 and trial.should_prune():
                        outcome[PRUNED_FOLD_ATTR] = fold
                        break
        value = float(np.mean(values))
        # The epoch the final retrain stops at: the median fold's (fold 0's with one split).
        outcome[BEST_EPOCH_ATTR] = int(np.median(best_epochs)) if len(best_epochs) > 1 else best_epochs[0]
        if len(self.folds) > 1:
            trial.set_user_attr(FOLD_VALUES_ATTR, [round(v, 6) for v in values])
        if PRUNED_EPOCH_ATTR not in outcome and outcome[EPOCHS_RUN_ATTR] < params["epochs"]:
            outcome[STOPPED_EPOCH_ATTR] = outcome[EPOCHS_RUN_ATTR] - 1
        if PRUNED_EPOCH_ATTR not in outcome and PRUNED_FOLD_ATTR not in outcome:
            kept_as = value if self.cost_rule is None else objective_values(self.spec, value, self._trial_costs)
            checkpoints.keep(self.spec, trial, models, kept_as)  # weights of the top-k (or front) trials only
        del models
        for key, number in outcome.items():
            trial.set_user_attr(key, number)
        return value, outcome

    def _fit_fold(
        self, trial: optuna.Trial, params: dict[str, Any], run_id: str, fold: int, report_epochs: bool
    ) -> tuple[keras.Model, dict[str, list[float]], int | None]:
        """Build and fit the trial's network on one fold; return it, its history and the pruned epoch."""
        # Resets Keras's global state. No garbage collection here: the worker loop collects
        # right after every trial (search._trial_loop.run_trials); a second full pass per trial
        # only cost time (benchmarks/overhead.py).
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(self.spec.study.seed + trial.number + 7919 * fold)
        apply_precision(self.performance)  # before building: layers take the dtype policy then
        metric, direction = self.spec.study.metric, self.spec.study.direction
        splits = self.folds[fold]
        network = build_for_trial(self.spec, trial, params, splits.input_shape, splits.num_classes)
        model = network.model
        first = fold == 0
        if first:
            if network.hp_values:
                self.tracker.log_params(run_id, network.hp_values)  # a hypermodel's own params, known once built
            trial.set_user_attr(PARAM_COUNT_ATTR, model.count_params())
            self.tracker.log_metrics(run_id, 0, {PARAM_COUNT_ATTR: float(model.count_params())})
            self.tracker.log_model_summary(run_id, model)
            if self.costs:
                self._measure_costs(trial, run_id, model, params, splits)

        # MLflow gets fold 0's curves; the display follows every fold.
        listeners = [self.tracker.epoch_logger(run_id)] if first else []
        if self.display is not None:
            listeners.append(self.display.epoch_ended)
        final = FINAL_EPOCHS_ATTR in trial.user_attrs
        reporter = trial if self.cost_rule is None else CurveTrial(trial, self.cost_rule, self._trial_costs)
        cutoff = exploring_deadline(trial, self.explore_deadline)
        planned = INITIAL_ATTR in trial.user_attrs or NEIGHBOUR_ATTR in trial.user_attrs
        pruning = (
            PruningCallback(reporter, metric, cutoff, prunable=not planned)
            if first and report_epochs and not final
            else None
        )
        callbacks = [
            SafePoint(),  # a deferred Ctrl-C stops the fit here, not inside TensorFlow
            EpochReporter(listeners, len(splits.x_train)),
            *([pruning] if pruning is not None else []),
            *([StopAtDeadline(self.deadline)] if final and self.deadline is not None else []),
            *standard_callbacks(params, metric, direction),
        ]
        fit_params = {**params, **network.compile_params}
        history = fit(
            model,
            splits,
            fit_params,
            callbacks,
            compile_config=network.compile_config,
            performance=self.performance,
        ).history
        pruned_epoch = pruning.pruned_epoch if pruning is not None else None
        if pruning is not None and pruning.deadline_hit:
            trial.set_user_attr(EXPLORATION_DEADLINE_ATTR, True)
        if first:
            self.tracker.log_trial_curves(
                run_id,
                trial,
                history,
                pruned_epoch=pruned_epoch,
                planned_epochs=params["epochs"],
                num_classes=splits.num_classes,
            )
        losses = history.get("loss", [])
        if losses and not math.isfinite(losses[-1]):
            raise TrialFailed(f"loss became NaN at epoch {len(losses) - 1}" + (f" (fold {fold})" if fold else ""))
        if first and pruned_epoch is None and splits.num_classes <= MAX_LOGGED_CLASSES:
            # Per-class validation recall/F1 of the kept weights: what class weights changed.
            self.tracker.log_class_table(
                run_id, per_class_metrics(model, splits.x_val, splits.y_val, splits.class_names)
            )
        return model, history, pruned_epoch

    def _measure_costs(
        self, trial: optuna.Trial, run_id: str, model: keras.Model, params: dict[str, Any], splits: Splits
    ) -> None:
        """Before any epoch: the costs of the network as it would ship (uint8 input, no augmentation),
        as user attributes, MLflow metrics and Optuna constraints; over a hard limit, :class:`Infeasible`."""
        twin = inference_for(self.spec.model.hypermodel, model, params, splits.input_shape, splits.num_classes)
        measured = measure_costs(twin, self.costs).items()
        costs = {name: int(v) if name in ("params", "flops") else round(v, 6) for name, v in measured}
        del twin
        self._trial_costs.update(costs)
        trial.set_user_attr(COSTS_ATTR, costs)
        self.tracker.log_metrics(run_id, 0, {name: value for name, value in costs.items() if name != "params"})
        for key, value in constraint_values(costs, self.limits).items():
            trial.set_constraint(key, value)
        reason = infeasible_reason(costs, self.limits)
        if reason is not None:
            trial.set_user_attr(INFEASIBLE_ATTR, reason)
            trial.set_user_attr(EPOCHS_RUN_ATTR, 0)
            raise Infeasible(reason)

    def _record_failure(self, trial: optuna.Trial, tags: dict[str, Any], reason: str) -> None:
        trial.set_user_attr(REASON_ATTR, reason)
        tags[REASON_ATTR] = reason


def final_params(trial: optuna.Trial, params: dict[str, Any]) -> dict[str, Any]:
    """The final training's schedule: its planned epochs, and early stopping fitted to them.

    The spec's patience fits ``train.epochs``; over a schedule several times longer, a
    plateau of that many epochs while the learning rate is still high is not the end. With a
    rate that decays to the end (cosine and the like), the final training never stops early:
    the gain comes in the last, low-rate epochs, and on a small validation set a plateau is
    mostly noise (an imbalanced 158-image folder stopped at 17 of 27 epochs). The best
    epoch's weights are still the ones kept.
    """
    epochs = trial.user_attrs.get(FINAL_EPOCHS_ATTR)
    if not epochs:
        return params
    patience = params.get("early_stopping_patience", 0)
    if not patience:
        scaled = 0
    elif params.get("lr_schedule", "constant") != "constant":
        scaled = int(epochs)
    else:
        scaled = max(patience, int(epochs) // 4)
    return {**params, "epochs": int(epochs), "early_stopping_patience": scaled}


def describe(exc: BaseException) -> str:
    """A failure reason on one line: our own messages as they are, others with their type."""
    text = first_line(exc)
    if isinstance(exc, TrialFailed):
        return text
    fault = infrastructure_fault(exc)
    if fault is not None:
        return f"{fault} ({type(exc).__name__}; not the trial's fault: the study stops)"[:500]
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return f"out of memory ({type(exc).__name__}): {text}"[:500]
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
