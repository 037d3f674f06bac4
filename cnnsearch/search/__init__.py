"""The Optuna study: storage, sampler, pruner, suggestions, the objective, the trial loop,
worker processes, heartbeats, the study lock, Ctrl-C at safe points, kept checkpoints.

The only caller of ``trial.suggest_*`` (``_suggest.py``). It logs through the
:class:`Tracking` protocol and shows progress through the display protocols, all
declared in ``_protocols.py`` and implemented by the reporting layer, so it imports
neither MLflow nor the console. Imports ``spec``, ``data``, ``models`` and ``training``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.search._callbacks import PruningCallback, SafePoint
    from cnnsearch.search._checkpoints import fold_files, kept, weights_file
    from cnnsearch.search._cost_pruning import CostGroupRule, CurveTrial
    from cnnsearch.search._heartbeat import (
        GRACE_S,
        HOST,
        INTERVAL_S,
        MAX_RETRIES,
        Heartbeat,
        fail_stale_trials,
        stale_reason,
    )
    from cnnsearch.search._interrupt import deferred, requested
    from cnnsearch.search._locks import study_lock
    from cnnsearch.search._multi_objective import (
        Infeasible,
        constraint_values,
        dominates,
        front,
        front_numbers,
        infeasible_reason,
        objective_values,
        trial_costs,
    )
    from cnnsearch.search._objective import Objective, describe
    from cnnsearch.search._pick import Pick, pick_trial
    from cnnsearch.search._pool import run_workers, visible_gpus, worker_env
    from cnnsearch.search._preflight import storage_problem
    from cnnsearch.search._protocols import (
        PoolDisplay,
        StudyDisplay,
        StudyPlots,
        StudyTracking,
        Tracking,
        TrialDisplay,
        TrialTracking,
    )
    from cnnsearch.search._runner import (
        AfterTrial,
        Session,
        close_session,
        open_session,
        prepare_worker_process,
        run,
        serve,
    )
    from cnnsearch.search._states import ENDED, FINISHED, TrialCounts, best_trial, feasible, ranked, score, trial_counts
    from cnnsearch.search._study import enqueue_initial_params, load_study, make_pruner, make_sampler, open_study
    from cnnsearch.search._suggest import (
        SuggestsParams,
        TrialNetwork,
        build_for_trial,
        suggest,
        suggest_compile,
        suggest_hyperparameter,
        trial_hyperparameters,
    )
    from cnnsearch.search._trial_loop import DONE, RECYCLE, STOPPED, TIMEOUT, deadline_of, failure_streak, run_trials

__all__ = [
    "DONE",
    "ENDED",
    "FINISHED",
    "GRACE_S",
    "HOST",
    "INTERVAL_S",
    "MAX_RETRIES",
    "RECYCLE",
    "STOPPED",
    "TIMEOUT",
    "AfterTrial",
    "CostGroupRule",
    "CurveTrial",
    "Heartbeat",
    "Infeasible",
    "Objective",
    "Pick",
    "PoolDisplay",
    "PruningCallback",
    "SafePoint",
    "Session",
    "StudyDisplay",
    "StudyPlots",
    "StudyTracking",
    "SuggestsParams",
    "TrialCounts",
    "TrialDisplay",
    "TrialNetwork",
    "TrialTracking",
    "Tracking",
    "best_trial",
    "build_for_trial",
    "close_session",
    "constraint_values",
    "deadline_of",
    "deferred",
    "describe",
    "dominates",
    "enqueue_initial_params",
    "fail_stale_trials",
    "failure_streak",
    "feasible",
    "fold_files",
    "front",
    "front_numbers",
    "infeasible_reason",
    "kept",
    "load_study",
    "make_pruner",
    "make_sampler",
    "objective_values",
    "open_session",
    "open_study",
    "pick_trial",
    "prepare_worker_process",
    "ranked",
    "requested",
    "run",
    "run_trials",
    "run_workers",
    "score",
    "serve",
    "stale_reason",
    "storage_problem",
    "study_lock",
    "suggest",
    "suggest_compile",
    "suggest_hyperparameter",
    "trial_costs",
    "trial_counts",
    "trial_hyperparameters",
    "visible_gpus",
    "weights_file",
    "worker_env",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
