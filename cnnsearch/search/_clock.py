"""The study's clock: ``study.timeout`` belongs to the study, not to one process.

Every ``cnnsearch run``, every worker of ``--workers N`` and every machine on one storage
reads the same start time (a study attribute, written under the study lock), so the
exploration deadline of ``study.final_share`` and the final training are the same for all:

- a process that opens the study while its clock still runs joins it (a second machine
  started late, a worker replaced after a crash, a run restarted within the budget);
- a run that opens the study after the clock ran out (or a study without a timeout) starts
  a new clock: resuming a finished or interrupted study gives it ``study.timeout`` again.

:func:`budget_used` says how much of the timeout went to trials, for the closing summary,
the MLflow parent run and ``cnnsearch best``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import optuna

from cnnsearch._keys import CLOCK_ATTR
from cnnsearch.spec import Spec


def start_or_join(study: optuna.Study, spec: Spec, now: float | None = None) -> float:
    """The Unix time ``study.timeout`` counts from; call under the study lock.

    Joins the stored clock while ``now`` is before its deadline, else stores ``now`` as a new one.
    """
    now = time.time() if now is None else now
    stored = study.user_attrs.get(CLOCK_ATTR)
    timeout = spec.study.timeout
    if timeout and isinstance(stored, (int, float)) and stored <= now < stored + timeout:
        return float(stored)
    study.set_user_attr(CLOCK_ATTR, now)
    return now


@dataclass(frozen=True)
class BudgetUse:
    """Seconds from the clock's start to the last trial's end, against ``study.timeout``."""

    used_s: float
    timeout_s: float

    @property
    def share(self) -> float:
        return self.used_s / self.timeout_s if self.timeout_s else 0.0

    def line(self) -> str:
        return f"time budget: {self.used_s:,.0f} s of {self.timeout_s:,.0f} s went to training ({self.share:.0%})"


def budget_used(study: optuna.Study, spec: Spec, since: float | None = None) -> BudgetUse | None:
    """How much of the current clock's ``study.timeout`` the trials used; None without a timeout.

    ``since`` defaults to the stored clock. Only trials that ended after it count.
    """
    timeout = spec.study.timeout
    start = since if since is not None else study.user_attrs.get(CLOCK_ATTR)
    if not timeout or not isinstance(start, (int, float)):
        return None
    ends = [
        t.datetime_complete.timestamp()
        for t in study.get_trials(deepcopy=False)
        if t.datetime_complete is not None and t.datetime_complete.timestamp() >= start
    ]
    used = max(ends) - start if ends else 0.0
    return BudgetUse(round(used, 1), float(timeout))
