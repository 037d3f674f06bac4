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
    from cnnsearch.search._checkpoints import Kept, fold_files, kept, weights_dir
    from cnnsearch.search._clock import BudgetUse, budget_used
    from cnnsearch.search._device import Device, this_device
    from cnnsearch.search._heartbeat import HOST, fail_stale_trials
    from cnnsearch.search._locks import study_lock
    from cnnsearch.search._multi_objective import dominates, front, trial_costs
    from cnnsearch.search._objective import Objective, describe
    from cnnsearch.search._pick import Pick, pick_trial
    from cnnsearch.search._pool import run_workers
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
    from cnnsearch.search._runner import AfterTrial, Session, prepare_worker_process, run, serve
    from cnnsearch.search._states import ENDED, FINISHED, best_trial, feasible, ranked, score, trial_counts
    from cnnsearch.search._study import enqueue_initial_params, load_study, open_study
    from cnnsearch.search._suggest import build_for_trial, suggest
    from cnnsearch.search._trial_loop import STOPPED, run_trials

__all__ = [
    "BudgetUse",
    "Kept",
    "Device",
    "budget_used",
    "this_device",
    "ENDED",
    "FINISHED",
    "HOST",
    "STOPPED",
    "AfterTrial",
    "Objective",
    "Pick",
    "PoolDisplay",
    "Session",
    "StudyDisplay",
    "StudyPlots",
    "StudyTracking",
    "TrialDisplay",
    "TrialTracking",
    "Tracking",
    "best_trial",
    "build_for_trial",
    "describe",
    "dominates",
    "enqueue_initial_params",
    "fail_stale_trials",
    "feasible",
    "fold_files",
    "front",
    "kept",
    "load_study",
    "open_study",
    "pick_trial",
    "prepare_worker_process",
    "ranked",
    "run",
    "run_trials",
    "run_workers",
    "score",
    "serve",
    "storage_problem",
    "study_lock",
    "suggest",
    "trial_costs",
    "trial_counts",
    "weights_dir",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
