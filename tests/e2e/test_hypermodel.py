"""KerasTuner hypermodels under the Optuna study, through the CLI: tracking, failing trials, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from cnnsearch.api import run
from cnnsearch.errors import CnnsearchError
from cnnsearch.spec import load_spec
from tests.e2e.conftest import Cli
from tests.helpers import HYPERMODEL_EXAMPLE as EXAMPLE
from tests.helpers import hypermodel_spec as write_spec

pytestmark = pytest.mark.slow


def test_hypermodel_study_tracks_and_exports(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "my_hypermodel.py")
    spec = write_spec(tmp_path, "my_hypermodel:build")  # a module importable from the cwd
    ran = cli("run", str(spec), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "(2 complete, 0 pruned, 0 failed)" in ran.stdout.replace("\n", " ")

    resolved = load_spec(spec, [])
    from cnnsearch.search import load_study
    from cnnsearch.tracking import tracking_uri

    trials = load_study(resolved).trials
    client = MlflowClient(tracking_uri(resolved))
    for trial in trials:
        assert {"conv_layers", "head", "learning_rate"} <= set(trial.params)
        assert "blocks" not in trial.params and "optimizer" not in trial.params  # the hypermodel compiles itself
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.params["head"] == str(trial.params["head"])
        assert run.data.params["source"] == "keras-tuner example"

    exported = cli("best", str(spec), "--export", "--formats", "keras,onnx", "--format", "json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    card = json.loads((tmp_path / "exports" / "hm" / "model_card.json").read_text())
    best = json.loads(exported.stdout)
    assert {k: card["params"][k] for k in best["params"]} == best["params"]
    assert [e["format"] for e in card["exports"]] == ["keras", "onnx"]
    assert all(e["max_prob_diff"] < 1e-3 for e in card["exports"])
    assert card["input"]["dtype"] == "uint8"


def test_a_hypermodel_that_raises_or_exits_fails_its_trial_with_the_reason(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.py").write_text(
        "def raises(hp):\n    hp.Int('units', 1, 4)\n    raise ValueError('no model for you')\n\n"
    )
    from cnnsearch.search import load_study

    # Every other kind of bad build (None, a number, SystemExit from a layer) is a unit test of
    # tests/unit/models/test_hypermodel.py; here, two kinds through the CLI's whole trial loop.
    for function, reason in (
        ("raises", "raised ValueError: no model for you"),
        ("sys:exit", "hypermodel sys:exit raised SystemExit: "),  # once printed a repr, left the trial RUNNING
    ):
        folder = tmp_path / function.replace(":", "_")
        folder.mkdir()
        monkeypatch.chdir(folder)
        reference = function if ":" in function else f"../bad.py:{function}"
        spec = write_spec(folder, reference, n_trials=1, failures=2)
        if function == "raises":  # through the API in this process: the error names the reason too
            with pytest.raises(CnnsearchError, match="stopped after 2 failed trials in a row") as stopped:
                run(spec, progress=False)
            assert reason in str(stopped.value), stopped.value
        else:  # through the CLI: SystemExit inside a trial is not the process's exit
            result = cli("run", str(spec), cwd=folder)
            assert result.returncode == 1
            assert reason in result.stderr, result.stderr
        trials = load_study(load_spec(spec, [])).trials
        assert len(trials) == 2 and all(t.state.name == "FAIL" for t in trials)
        assert reason in trials[0].user_attrs["fail_reason"]
