"""KerasTuner hypermodels under the Optuna study: suggestions, conditional space, failures, export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from cnnsearch.errors import SpecError
from cnnsearch.hypermodel import load_build_function, trial_hyperparameters
from cnnsearch.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "search_spaces" / "hypermodels" / "digits_hypermodel.py"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}

SPEC = """
[study]
name = "hm"
n_trials = {n_trials}
sampler = "random"
pruner = "none"
seed = 3
max_consecutive_failures = {failures}

[data]
dataset = "digits"
max_train_samples = 300

[model]
hypermodel = "{reference}"

[train]
epochs = 1
batch_size = 64
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnnsearch", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=600)


def write_spec(folder: Path, reference: str, n_trials: int = 2, failures: int = 5) -> Path:
    path = folder / "hm.toml"
    path.write_text(SPEC.format(reference=reference, n_trials=n_trials, failures=failures))
    return path


def test_hp_calls_become_optuna_params_and_inactive_ones_are_not_suggested() -> None:
    build = load_build_function(f"{EXAMPLE}:build")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"head": "flatten", "conv_layers": 1})
    study.enqueue_trial({"head": "dense", "conv_layers": 2})

    def objective(trial: optuna.Trial) -> float:
        hp = trial_hyperparameters(trial)
        model = build(hp)
        trial.set_user_attr("values", dict(hp.values))
        return float(model.count_params())

    study.optimize(objective, n_trials=4)
    flat, dense = study.trials[0], study.trials[1]
    assert set(flat.params) == {"conv_layers", "filters_0", "batch_norm_0", "head", "learning_rate"}
    assert set(dense.params) == {"conv_layers", "filters_0", "batch_norm_0", "filters_1", "batch_norm_1", "head",
                                 "dense_units", "dropout", "learning_rate"}
    # hp.Int(..., step=2, sampling="log") is KerasTuner's ladder 16, 32, 64.
    assert isinstance(dense.distributions["filters_0"], optuna.distributions.CategoricalDistribution)
    assert dense.distributions["filters_0"].choices == (16, 32, 64)
    assert dense.distributions["dropout"].step == pytest.approx(0.1)
    assert dense.distributions["learning_rate"].log
    # hp.Fixed is a value, not a search dimension.
    assert flat.user_attrs["values"]["source"] == "keras-tuner example" and "source" not in flat.params
    for trial in study.trials:
        assert ("dense_units" in trial.params) == (trial.params["head"] == "dense")


def test_hypermodel_study_tracks_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "my_hypermodel.py")
    spec = write_spec(tmp_path, "my_hypermodel:build")  # a module importable from the cwd
    ran = cli("run", str(spec), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "(2 complete, 0 pruned, 0 failed)" in ran.stdout.replace("\n", " ")

    resolved = load_spec(spec, [])
    from cnnsearch.study import load_study
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


def test_a_hypermodel_that_raises_or_returns_junk_fails_its_trial_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.py").write_text(
        "def raises(hp):\n    hp.Int('units', 1, 4)\n    raise ValueError('no model for you')\n\n"
        "def junk(hp):\n    return 'a string'\n"
    )
    from cnnsearch.study import load_study

    for function, reason in (("raises", "raised ValueError: no model for you"), ("junk", "returned str, not a keras.Model")):
        folder = tmp_path / function
        folder.mkdir()
        monkeypatch.chdir(folder)
        spec = write_spec(folder, f"../bad.py:{function}", n_trials=1, failures=2)
        result = cli("run", str(spec), cwd=folder)
        assert result.returncode == 1
        assert reason in result.stderr, result.stderr
        trials = load_study(load_spec(spec, [])).trials
        assert len(trials) == 2 and all(t.state.name == "FAIL" for t in trials)
        assert reason in trials[0].user_attrs["fail_reason"]


@pytest.mark.parametrize(
    ("reference", "extra", "message"),
    [
        ("nosuch.py:build", "", "model.hypermodel: no such file"),
        ("{example}:nothing", "", "has no attribute 'nothing'"),
        ("no_such_module_xyz:build", "", "cannot import 'no_such_module_xyz' (ModuleNotFoundError"),
        ("just-a-name", "", "expected 'module.path:function'"),
        ("{example}:build", "blocks = 3\n", "model.blocks: not used with hypermodel"),
    ],
)
def test_bad_hypermodel_reference_is_a_one_line_spec_error(tmp_path: Path, reference: str, extra: str, message: str) -> None:
    spec = write_spec(tmp_path, reference.format(example=EXAMPLE))
    spec.write_text(spec.read_text().replace("[model]\n", f"[model]\n{extra}"))
    with pytest.raises(SpecError, match=None) as error:
        load_spec(spec, [])
    assert message in str(error.value)
    assert "\n" not in str(error.value)
