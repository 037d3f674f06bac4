"""Names shared by every layer: Optuna user attributes, MLflow tags, trial states.

A leaf: it imports nothing from cnnsearch, so any module may import it. A key
written by one layer and read by another is spelled once, here.
"""

from __future__ import annotations

# --- Optuna study user attributes ---------------------------------------------
#: The resolved spec, as plain data: written by studies before issue 15, read by nothing now.
SPEC_ATTR = "cnnsearch_spec"
#: What the study keeps of its spec instead: the sha256 of the resolved TOML (``spec_to_toml``) and
#: where that file is (``runs:/<parent run>/spec/resolved.toml``), short enough for ``optuna studies``.
SPEC_SHA_ATTR = "spec_sha256"
SPEC_PATH_ATTR = "spec_path"
#: The study's MLflow parent run, shared by every worker and restart.
PARENT_RUN_ATTR = "mlflow_parent_run_id"
#: Also on the first trial: [study] initial_params were queued.
INITIAL_ATTR = "initial_params"
#: When the study's clock started (Unix time): ``study.timeout`` counts from here for every worker and
#: machine that joins while it runs; a run after it ran out starts a new one (docs/scaling.md).
CLOCK_ATTR = "clock_started"

# --- Optuna trial user attributes ------------------------------------------------
#: A start-up trial drawn around the initial params (``study.initial_neighbours``): the param it changed.
NEIGHBOUR_ATTR = "neighbour_of_initial"
RUN_ID_ATTR = "mlflow_run_id"
REASON_ATTR = "fail_reason"
EPOCHS_RUN_ATTR = "epochs_run"
BEST_EPOCH_ATTR = "best_epoch"
PRUNED_EPOCH_ATTR = "pruned_epoch"
STOPPED_EPOCH_ATTR = "stopped_epoch"
#: An exploring trial pruned because ``study.final_share``'s exploration time ran out.
EXPLORATION_DEADLINE_ATTR = "pruned_at_exploration_deadline"
#: With study.folds >= 2: each fold's best validation value, and the fold after which Wilcoxon pruned.
FOLD_VALUES_ATTR = "fold_values"
PRUNED_FOLD_ATTR = "pruned_fold"
PARAM_COUNT_ATTR = "param_count"
#: On the final training of ``study.final_share``: the epochs planned for it, and the trial whose params it trains.
FINAL_EPOCHS_ATTR = "final_epochs"
FINAL_OF_ATTR = "final_of"
#: On a training beside it (``study.final_others = "seeds"``): the final training whose params it trains
#: with its own seed (its trial number's), for the same time; shipped with it as one ensemble.
FINAL_SEED_OF_ATTR = "final_seed_of"
#: The costs a trial measured before training (``{"params": ..., "latency_ms": ...}``), and, for a trial
#: over a hard limit (PRUNED before training), which limits it broke.
COSTS_ATTR = "costs"
INFEASIBLE_ATTR = "infeasible"
#: Multi-objective studies (where Optuna's ``trial.report`` raises): the metric per epoch, and why
#: the cost-group rule pruned the trial (``search/_cost_pruning.py``).
CURVE_ATTR = "curve"
PRUNE_REASON_ATTR = "prune_reason"
DIAGNOSIS_ATTR = "diagnosis"
DIAGNOSIS_REASON_ATTR = "diagnosis_reason"
#: Seconds the trial spent on tracking (MLflow calls, artifacts).
TRACKING_ATTR = "tracking_s"
#: The worker that owns a running journal trial, and its last heartbeat.
OWNER_ATTR = "cnnsearch_worker"
BEAT_ATTR = "cnnsearch_heartbeat"
RETRIED_FROM_ATTR = "retried_from"
RETRY_REASON_ATTR = "retry_reason"

# --- MLflow tags ------------------------------------------------------------------
PARENT_TAG = "mlflow.parentRunId"
TAG_PREFIX = "cnnsearch."
STATE_TAG = "cnnsearch.state"
TRIAL_TAG = "cnnsearch.trial"
STUDY_TAG = "cnnsearch.study"
KIND_TAG = "cnnsearch.kind"
FAIL_REASON_TAG = "cnnsearch.fail_reason"
DIAGNOSIS_TAG = "cnnsearch.diagnosis"
#: MLflow's own: the experiment's kind (else MLflow 3 opens it as a GenAI one), a run's name and description.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CUSTOM_MODEL_KIND = "custom_model_development"
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"
#: A trial run's score, the value the search used (best epoch, or the mean over folds): ``score_<metric>``.
SCORE_PREFIX = "score_"
#: A trial run's per-class validation recall and F1, one table artifact (``MlflowClient.log_table``).
CLASS_TABLE = "val_per_class.json"

# --- trial outcomes ---------------------------------------------------------------
#: How a trial ended, as the objective reports it (KILLED: Ctrl-C).
COMPLETE, PRUNED, FAIL, KILLED, RUNNING = "COMPLETE", "PRUNED", "FAIL", "KILLED", "RUNNING"
#: Trial outcome -> MLflow run status.
RUN_STATUS = {COMPLETE: "FINISHED", PRUNED: "FINISHED", FAIL: "FAILED", KILLED: "KILLED"}
#: Fail reason of a trial that Ctrl-C ended inside the objective.
INTERRUPTED = "interrupted (Ctrl-C)"
#: Fail reason of a trial that Ctrl-C ended before its own cleanup could record one.
INTERRUPTED_UNTRACKED = "interrupted before the trial's run was tracked"
