"""``[export]``: what ``best --export`` ships, a rule fixed before any test figure is seen."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cnnsearch.spec._types import _Strict


class ExportSpec(_Strict):
    """What ``best --export`` ships (the rule is fixed before any test figure is seen)."""

    # The default measured best on the digits demo, 3 seeds: ensemble 0.9870 +- 0.0085 test accuracy,
    # checkpoint 0.9833 +- 0.0127, retrain 0.9731 +- 0.0140 (benchmarks/quality.py, docs/benchmarks.md).
    ship: Literal["retrain", "checkpoint", "ensemble"] = Field(
        "ensemble",
        description="retrain the best trial on train + validation; its kept checkpoint; or the mean of the top kept checkpoints",
    )
    ensemble_size: int = Field(
        3, ge=2, le=10, description="ship = ensemble: how many of the best kept checkpoints (at most study.keep_top_k)"
    )
    fold_trials: int = Field(
        1,
        ge=1,
        le=10,
        description="ship = ensemble with study.folds > 1: the fold models of this many best trials "
        "(at most study.keep_top_k)",
    )
    rerank: int = Field(
        0,
        ge=0,
        le=10,
        description="re-rank the N best trials by k-fold cross-validation before shipping (0: off; "
        "for studies scored on one split)",
    )
    rerank_folds: int = Field(5, ge=2, le=10, description="rerank: the folds each candidate trains on")
    test_time_flips: Literal["auto", "on", "off"] = Field(
        "auto",
        description="average each test image's prediction with its horizontal mirror's; auto: when the "
        "shipped params trained with horizontal flips (not for a multi-objective pick: it doubles latency)",
    )
