"""Pruning in a multi-objective study, where Optuna's ``trial.report`` raises (optuna#3450).

A trial is judged only against its **peers**: the other trials that cost no more than it
does (every cost objective at most ``TOLERANCE`` times its own; latency is noisy). Only
those can dominate it on the front: a trial that is both costlier and less accurate than
its peers at the same epoch is heading for a dominated point, while a cheap network is
never compared with an expensive one, so it is never pruned for being less accurate than
a network it does not compete with. The cheapest trials have no peers and always run on.

Among the peers, the configured pruner's rule (``docs/multi-objective.md``):

- ``median``: from epoch 1, after ``study.startup_trials`` complete trials, prune when the
  trial's best value so far is worse than the median of its complete peers' values at
  that epoch (Optuna's ``MedianPruner``);
- ``successive_halving`` and ``hyperband``: at the rungs (epochs 1, 3, 9, 27, ... counted
  from 0, reduction factor 3, Optuna's defaults here), prune unless the trial's value there
  is in the top third of its peers' values at that rung (the best one while fewer than 3
  compete), as Optuna's ``SuccessiveHalvingPruner``. Hyperband's brackets are not kept:
  they would split the peers into groups too small to compare;
- ``none``: no pruning.

A rule needs at least ``MIN_PEERS`` peers with a value at that epoch, and prunes only while
at least half the schedule is left (epoch indices below ``max(2, ceil(epochs / 2))``): a
trial pruned late has spent most of its epochs and, unlike a complete one, adds no point
to the front (on the CIFAR-10 subset, trials pruned at epoch 9 of 10 saved one epoch each
and cost the pruned search its lead; docs/multi-objective.md).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch._keys import CURVE_ATTR, INFEASIBLE_ATTR, PRUNE_REASON_ATTR
from cnnsearch.search._multi_objective import trial_costs
from cnnsearch.spec import Spec

#: A peer may cost up to this factor more and still count as costing no more (timing noise).
TOLERANCE = 1.1
#: Peers with a value at the epoch judged, at least.
MIN_PEERS = 2
#: Successive halving's reduction factor and first rung (epoch index), Optuna's defaults here.
REDUCTION = 3
RULES = {"median": "median", "successive_halving": "halving", "hyperband": "halving"}


@dataclass(frozen=True)
class CostGroupRule:
    """The pruner's rule applied among a trial's peers (see the module)."""

    rule: str | None
    cost_names: tuple[str, ...]
    maximize: bool
    startup_trials: int
    epochs: int

    @classmethod
    def for_spec(cls, spec: Spec) -> CostGroupRule:
        s = spec.study
        return cls(
            rule=RULES.get(s.pruner),
            cost_names=tuple(o.metric for o in s.objectives[1:]),
            maximize=s.direction == "maximize",
            startup_trials=s.startup_trials,
            epochs=spec.train.epochs,
        )

    def judge(self, trials: list[FrozenTrial], number: int, costs: dict[str, float], curve: list[Any]) -> str | None:
        """Why trial ``number`` (its ``costs``, its values so far) is pruned at its last epoch, or None."""
        epoch = len(curve) - 1
        if self.rule is None or epoch < 1 or epoch >= self.last_epoch or not _finite(curve[-1]):
            return None
        peers = [t for t in trials if t.number != number and self._peer(t, costs)]
        if self.rule == "median":
            return self._median(trials, peers, epoch, curve)
        return self._halving(peers, epoch, float(curve[-1]))

    @property
    def last_epoch(self) -> int:
        """Epoch indices below this may be pruned: while at least half the schedule is left."""
        return min(max(2, math.ceil(self.epochs / 2)), self.epochs - 1)

    def _peer(self, trial: FrozenTrial, costs: dict[str, float]) -> bool:
        """A trial that measured its costs, was feasible, and costs no more (within TOLERANCE)."""
        if INFEASIBLE_ATTR in trial.user_attrs:
            return False
        theirs = trial_costs(trial)
        return all(
            name in theirs and name in costs and theirs[name] <= costs[name] * TOLERANCE for name in self.cost_names
        )

    def _median(self, trials: list[FrozenTrial], peers: list[FrozenTrial], epoch: int, curve: list[Any]) -> str | None:
        complete = sum(t.state == TrialState.COMPLETE for t in trials)
        if complete < self.startup_trials:
            return None
        values = [v for v in (_at(t, epoch) for t in peers if t.state == TrialState.COMPLETE) if v is not None]
        if len(values) < MIN_PEERS:
            return None
        median = statistics.median(values)
        finite = [float(v) for v in curve if _finite(v)]
        best = max(finite) if self.maximize else min(finite)
        if (best < median) if self.maximize else (best > median):
            return f"best {best:.4g} by epoch {epoch} is worse than the median {median:.4g} of {len(values)} trials costing no more"
        return None

    def _halving(self, peers: list[FrozenTrial], epoch: int, value: float) -> str | None:
        if not _is_rung(epoch):
            return None
        values = [v for v in (_at(t, epoch) for t in peers) if v is not None]
        if len(values) < MIN_PEERS:
            return None
        competing = sorted([*values, value], reverse=self.maximize)  # best first
        keep = max(len(competing) // REDUCTION, 1)
        cutoff = competing[keep - 1]
        if (value < cutoff) if self.maximize else (value > cutoff):
            return (
                f"{value:.4g} at epoch {epoch} is not in the top {keep} of {len(competing)} trials "
                "costing no more (successive halving)"
            )
        return None


def _is_rung(epoch: int) -> bool:
    rung = 1
    while rung < epoch:
        rung *= REDUCTION
    return rung == epoch


def _at(trial: FrozenTrial, epoch: int) -> float | None:
    curve = trial.user_attrs.get(CURVE_ATTR)
    if not isinstance(curve, list) or len(curve) <= epoch or not _finite(curve[epoch]):
        return None
    return float(curve[epoch])


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class CurveTrial:
    """What ``PruningCallback`` reports to in a multi-objective study, in place of the Optuna trial.

    ``report`` keeps the metric per epoch in the trial's ``curve`` user attribute (so other
    workers see it as a peer); ``should_prune`` applies the :class:`CostGroupRule`.
    """

    def __init__(self, trial: optuna.Trial, rule: CostGroupRule, costs: dict[str, float]) -> None:
        self.trial = trial
        self.rule = rule
        self.costs = costs
        self.curve: list[float | None] = []

    def report(self, value: float, step: int) -> None:
        while len(self.curve) < step:
            self.curve.append(None)  # an epoch without a finite value
        self.curve[step:] = [float(value)]
        self.trial.set_user_attr(CURVE_ATTR, self.curve)

    def should_prune(self) -> bool:
        trials = self.trial.study.get_trials(deepcopy=False)
        reason = self.rule.judge(trials, self.trial.number, self.costs, self.curve)
        if reason is not None:
            self.trial.set_user_attr(PRUNE_REASON_ATTR, reason)
        return reason is not None
