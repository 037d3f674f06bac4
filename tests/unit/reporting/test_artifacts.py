"""What a search leaves in MLflow beyond params and metrics: the study plots' refresh policy."""

from __future__ import annotations

from cnnsearch.reporting._artifacts import RefreshPolicy


def test_refresh_policy_bounds_the_share_of_time_spent_plotting() -> None:
    policy = RefreshPolicy(min_interval_s=60, max_share=0.05, last=0.0)
    assert not policy.due(59.0)
    assert policy.due(60.0)
    policy.record(started=60.0, finished=65.0)  # a 5 s refresh: next one after 100 s
    assert not policy.due(65.0 + 99.0)
    assert policy.due(65.0 + 100.0)
