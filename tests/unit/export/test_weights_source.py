"""Why an export has no kept weights: the true reason, never a wrong one (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, create_trial

from cnnsearch._keys import OWNER_ATTR
from cnnsearch.export._weights_source import fetch_missing, missing_reason
from cnnsearch.search import HOST
from cnnsearch.spec import Spec, load_spec
from tests.helpers import tiny_spec


def _spec(tmp_path: Path, *overrides: str) -> Spec:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec(n_trials=5, epochs=1))
    return load_spec(path, list(overrides))


def _trial(number: int, value: float, host: str) -> FrozenTrial:
    trial = create_trial(
        value=value,
        params={"x": value},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={OWNER_ATTR: {"host": host, "pid": 1}},
    )
    trial.number = number
    return trial


def test_each_cause_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ranked = [_trial(4, 0.9, "machine-a"), _trial(2, 0.8, HOST), _trial(0, 0.7, HOST)]
    spec = _spec(tmp_path, "study.keep_top_k=2")
    assert "keep_top_k = 0 keeps no weights" in missing_reason(_spec(tmp_path, "study.keep_top_k=0"), ranked, 4)
    elsewhere = missing_reason(spec, ranked, 4)
    assert "its weights are on machine-a" in elsewhere and "tracking.tracking_uri" in elsewhere
    assert "keep_top_k" not in elsewhere  # the cause is the machine, not the top-k
    assert "evicted" in missing_reason(spec, ranked, 0)  # third of a top 2
    assert "is not in mlruns/weights/tiny" in missing_reason(spec, ranked, 2)
    served = _spec(tmp_path, "study.keep_top_k=2", "tracking.tracking_uri=http://127.0.0.1:9")
    assert "its MLflow run in http://127.0.0.1:9 holds no weights" in missing_reason(served, ranked, 4)


def test_a_local_store_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store: the local folder as it is, no MLflow call, the card says so."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    said: list[str] = []
    sources = fetch_missing(_spec(tmp_path), [_trial(0, 0.9, HOST)], said.append)
    assert said == [] and sources.fetched == {}
    assert sources.origin([0]) == "this folder's kept weights (mlruns/weights/)"
