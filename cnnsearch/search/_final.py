"""The final training of ``study.final_share``: the best params once more, for the time left.

Why: under a time budget, trials that each train for the full schedule leave room for few
networks, and the first one (``initial_params``) takes much of it. With ``final_share`` the
search explores at ``train.epochs`` until that share of ``study.timeout`` is left, then
trains the best trial's params for as many epochs as the rest buys, at the seconds per
epoch that trial measured. The long schedule goes to the params that earned it, and the
study still ends near its deadline (docs/benchmarks.md has the measurements).

The final training is a trial like any other (same params, a longer schedule, no pruning),
marked with ``final_epochs`` and ``final_of``; it runs once per study, whether the study runs
in one process, in ``--workers N`` or on several machines (``_runner.explore_then_final``).
With ``study.final_others = "seeds"`` (the default) the workers that are not running it train the
same params with their own seeds for the same time (also marked ``final_seed_of``), and the
export ships their mean; with ``"stop"`` they stop and leave the machine to it.

Its length follows the clock, not an epoch count: its learning rate decays over the time left
(``training.ClockSchedule``) and it stops at the deadline. ``final_epochs`` is only a ceiling,
:data:`CEILING` times the estimate from the winner's measured speed, so faster hardware (or
small images, where the estimate overstates an epoch) spends the whole budget.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import EPOCHS_RUN_ATTR, FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FINAL_SEED_OF_ATTR, OWNER_ATTR
from cnnsearch.search._states import ranked
from cnnsearch.spec import Spec

#: Not worth a final training unless it trains at least this many times the winner's epochs.
MIN_GAIN = 1.5
#: The final training's epoch limit, as a multiple of the epochs the time left buys at the winner's
#: measured seconds per epoch: only a safety net, the clock ends it first. The estimate divides a
#: whole trial's wall time (building, compiling, tracing, tracking) by its epochs, which overstates
#: an epoch 1.2-1.8x on small images and 30x or more on tiny data, hence the wide factor.
CEILING = 100
#: Seconds kept back from the time left for building, compiling and tracking the final trial.
MARGIN_S = 5.0


def exploration_deadline(spec: Spec, deadline: float | None) -> float | None:
    """When exploring stops: ``final_share`` of the timeout before the deadline (the deadline without it)."""
    if deadline is None or not spec.study.final_share or not spec.study.timeout:
        return deadline
    return deadline - spec.study.final_share * spec.study.timeout


def exploring_deadline(trial: optuna.Trial, deadline: float | None) -> float | None:
    """When an exploring trial is pruned: ``deadline``, once some other trial has completed.

    Why: a trial started just before the exploration deadline (a wide network, say) would
    otherwise train on into the final training's share; on the CIFAR-10 subset one overran it
    by 237 s of a 1,200 s budget. None for the final training itself, and while no trial has
    completed: the final training needs a winner to train.
    """
    if deadline is None or is_final(trial):
        return None
    done = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return deadline if any(t.number != trial.number for t in done) else None


def is_final(trial: FrozenTrial | optuna.Trial) -> bool:
    return FINAL_EPOCHS_ATTR in trial.user_attrs


def seconds_per_epoch(trial: FrozenTrial) -> float | None:
    """The trial's wall time per epoch it ran (building, compiling and tracking included)."""
    epochs = trial.user_attrs.get(EPOCHS_RUN_ATTR)
    if not epochs or trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return (trial.datetime_complete - trial.datetime_start).total_seconds() / int(epochs)


def plan(study: optuna.Study, spec: Spec, remaining_s: float) -> tuple[FrozenTrial, int] | None:
    """The trial whose params to train once more and the epochs the time left buys; None when not worth it.

    None when ``final_share`` is off (0), a final training already ran (or was queued) in this
    study, no trial completed, or the time left buys fewer than ``MIN_GAIN`` times the winner's
    own epochs.
    """
    if not spec.study.final_share:
        return None
    if any(is_final(t) for t in study.get_trials(deepcopy=False)):
        return None
    candidates = [t for t in ranked(study) if not is_final(t)]
    if not candidates:
        return None
    best = candidates[0]
    epochs = epochs_left(best, remaining_s)
    return None if epochs is None else (best, epochs)


def epochs_left(winner: FrozenTrial, remaining_s: float) -> int | None:
    """The epochs the time left buys at the winner's measured speed; None below ``MIN_GAIN`` times its own."""
    per_epoch = seconds_per_epoch(winner)
    if per_epoch is None or per_epoch <= 0:
        return None
    epochs = math.floor((remaining_s - MARGIN_S) / per_epoch)
    if epochs < MIN_GAIN * int(winner.user_attrs.get(EPOCHS_RUN_ATTR, 1)):
        return None
    return epochs


class Beside(NamedTuple):
    """A training beside the final one: the final training's number, its winner, the epochs the time left buys."""

    primary: int
    winner: FrozenTrial
    epochs: int


def plan_seed(study: optuna.Study, spec: Spec, remaining_s: float) -> Beside | None:
    """``study.final_others = "seeds"``: what to train beside the final training, and for how long.

    None unless the study's final training is queued or running, fewer than
    ``export.ensemble_size - 1`` trainings beside it are queued, running or complete, none of
    them is queued, and the time left buys what :func:`plan` asks of the final training itself.
    """
    seeds = spec.export.ensemble_size - 1
    if spec.study.final_others != "seeds" or seeds < 1:
        return None
    trials = study.get_trials(deepcopy=False)
    live = (TrialState.WAITING, TrialState.RUNNING)
    primary = next((t for t in trials if is_final(t) and not is_seed(t) and t.state in live), None)
    if primary is None:
        return None
    beside = [t for t in trials if is_seed(t) and t.state in (*live, TrialState.COMPLETE)]
    if len(beside) >= seeds or any(t.state == TrialState.WAITING for t in beside):
        return None  # the cap, or one queued already (a dead one's retry, say): this process runs that
    winner = next((t for t in trials if t.number == primary.user_attrs.get(FINAL_OF_ATTR)), None)
    epochs = epochs_left(winner, remaining_s) if winner is not None else None
    return None if winner is None or epochs is None else Beside(primary.number, winner, epochs)


def enqueue_seed(study: optuna.Study, beside: Beside) -> None:
    """Queue a training beside the final one: the winner's params (those a running final training has not
    drawn yet), with the seed of the new trial's number."""
    study.enqueue_trial(
        dict(beside.winner.params),
        user_attrs={
            FINAL_EPOCHS_ATTR: CEILING * beside.epochs,
            FINAL_OF_ATTR: beside.winner.number,
            FINAL_SEED_OF_ATTR: beside.primary,
        },
    )


def is_seed(trial: FrozenTrial | optuna.Trial) -> bool:
    """A training beside the final one (``study.final_others = "seeds"``), not the final training itself."""
    return FINAL_SEED_OF_ATTR in trial.user_attrs


def enqueue(study: optuna.Study, best: FrozenTrial, epochs: int) -> None:
    """Queue the final training: the best trial's params, marked with its epoch ceiling."""
    ceiling = CEILING * epochs
    study.enqueue_trial(dict(best.params), user_attrs={FINAL_EPOCHS_ATTR: ceiling, FINAL_OF_ATTR: best.number})


def pending(study: optuna.Study) -> bool:
    """A queued final training has not run yet (a Ctrl-C or crash came first)."""
    return any(is_final(t) for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def orphaned_here(study: optuna.Study) -> bool:
    """A RUNNING final training whose worker, on this machine, is gone.

    On PostgreSQL Optuna fails it only once its heartbeat is older than the grace period: a
    process that finds one waits for its retry instead of stopping.
    """
    from cnnsearch.search._heartbeat import HOST, alive

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(OWNER_ATTR)
        if is_final(trial) and isinstance(owner, dict) and owner.get("host") == HOST:
            if not alive(int(owner.get("pid", 0))):
                return True
    return False
