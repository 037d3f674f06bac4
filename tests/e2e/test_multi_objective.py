"""Accuracy against cost, end to end: one tiny multi-objective digits study shared by the module.

Five queued trials make every path deterministic (the cost objective is ``params``, exact):

- 0 and 1: cheap networks (2,730 weights) with a brisk learning rate: they learn;
- 2: a costlier network (6,090 weights) that cannot learn (learning rate 1e-6): worse at
  epoch 1 than both trials that cost no more, so the cost-group median rule prunes it;
- 3: the cheapest network (690 weights), also unable to learn: no trial costs no more, so
  nothing can prune it, though it is the least accurate of all;
- 4: over ``max_params`` (21,386 weights): it ends before training, PRUNED, with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

pytestmark = pytest.mark.slow

EXTRA = """
[export]
ship = "checkpoint"
"""
QUEUED = [
    {"blocks": 1, "filters": 16, "learning_rate": 0.03},
    {"blocks": 1, "filters": 16, "learning_rate": 0.02},
    {"blocks": 2, "filters": 16, "learning_rate": 1e-6},
    {"blocks": 1, "filters": 4, "learning_rate": 1e-6},
    {"blocks": 2, "filters": 32, "learning_rate": 0.01},
]


def _spec_text(tiny_spec_text) -> str:
    text = tiny_spec_text(n_trials=5, epochs=3, pruner="median", extra=EXTRA)
    replacements = {
        'name = "tiny"': 'name = "tiny-mo"\nstartup_trials = 2\nmax_params = 10000\n'
        'objectives = [{ metric = "val_accuracy", direction = "maximize" }, '
        '{ metric = "params", direction = "minimize" }]',
        "filters = { choices = [8, 16] }": "filters = { choices = [4, 8, 16, 32] }",
        "batch_norm = { choices = [true, false] }": "batch_norm = false",
        "dropout = { low = 0.0, high = 0.3 }": "dropout = 0.0",
        "dense_units = { choices = [0, 32] }": 'dense_units = 0\nhead = "flatten"',
        "max_train_samples = 400": "max_train_samples = 800",
        "learning_rate = { low = 1e-3, high = 1e-2, log = true }": "learning_rate = { low = 1e-6, high = 0.05, log = true }",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def study(tiny_spec_text, seed_store, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The five queued trials run by `cnnsearch run` (in process), in a folder of their own."""
    import os

    from cnnsearch import api, search

    root = tmp_path_factory.mktemp("multi-objective")
    seed_store(root)
    spec_path = root / "tiny.toml"
    spec_path.write_text(_spec_text(tiny_spec_text))
    here = Path.cwd()
    os.chdir(root)
    try:
        spec = api.load(spec_path)
        queued = search.open_study(spec)
        for params in QUEUED:
            queued.enqueue_trial(params)
        result = api.run(spec_path, progress=False)
    finally:
        os.chdir(here)
    return {"root": root, "spec": spec_path, "study": result, "trials": {t.number: t for t in result.trials}}


def test_a_trial_over_a_hard_limit_never_trains(study: dict) -> None:
    over = study["trials"][4]
    assert over.state == TrialState.PRUNED  # not a failure: the study went on
    assert over.user_attrs["infeasible"] == "params 21386 > max_params 10000"
    assert over.user_attrs["epochs_run"] == 0
    assert over.constraints["max_params"] > 0  # what Optuna's samplers read
    assert over.user_attrs["costs"] == {"params": 21386}
    client = MlflowClient(f"sqlite:///{study['root'] / 'mlruns' / 'mlflow.db'}")
    run_id = over.user_attrs["mlflow_run_id"]
    assert client.get_metric_history(run_id, "val_accuracy") == []  # no epoch was logged
    assert client.get_metric_history(run_id, "loss") == []
    assert client.get_run(run_id).data.tags["cnnsearch.infeasible"] == "params 21386 > max_params 10000"
    assert all(t.state != TrialState.FAIL for t in study["trials"].values())


def test_the_cost_group_rule_prunes_only_against_trials_that_cost_no_more(study: dict) -> None:
    trials = study["trials"]
    assert [trials[n].user_attrs["costs"]["params"] for n in range(4)] == [2730, 2730, 6090, 690]
    assert trials[0].state == trials[1].state == TrialState.COMPLETE
    costly = trials[2]  # worse at epoch 1 than the median of the two cheaper trials
    assert costly.state == TrialState.PRUNED
    assert costly.user_attrs["pruned_epoch"] == 1
    assert (
        "median" in costly.user_attrs["prune_reason"]
        and "2 trials costing no more" in costly.user_attrs["prune_reason"]
    )
    assert len(costly.user_attrs["curve"]) == 2
    cheapest = trials[3]  # the least accurate, but nothing costs less: it ran to the end
    assert cheapest.state == TrialState.COMPLETE
    assert cheapest.values[0] < min(trials[0].values[0], trials[1].values[0])
    assert cheapest.user_attrs["epochs_run"] == 3


def test_trials_front_lists_only_the_front(study: dict, invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(study["root"])
    result = invoke("trials", str(study["spec"]), "--front", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    best_cheap = max((0, 1), key=lambda n: (study["trials"][n].values[0], -n))
    assert sorted(r["number"] for r in rows) == sorted({best_cheap, 3} | _ties(study, best_cheap))
    assert {r["costs.params"] for r in rows} <= {2730, 690}
    table = invoke("trials", str(study["spec"]), "--front")
    assert "Front of 'tiny-mo'" in table.stdout and "val_accuracy" in table.stdout


def _ties(study: dict, best: int) -> set[int]:
    """The other cheap trial, if it scored exactly the same (then neither dominates the other)."""
    other = 1 - best
    return {other} if study["trials"][other].values == study["trials"][best].values else set()


def test_the_parent_run_holds_the_front_plot_and_table(study: dict) -> None:
    client = MlflowClient(f"sqlite:///{study['root'] / 'mlruns' / 'mlflow.db'}")
    parent = study["study"].user_attrs["mlflow_parent_run_id"]
    files = {f.path for f in client.list_artifacts(parent)} | {f.path for f in client.list_artifacts(parent, "plots")}
    assert {"front.csv", "plots/pareto_front.png", "plots/pareto_front.html"} <= files


def test_best_export_pick_ships_that_trial_with_its_objectives_measured(
    study: dict, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(study["root"])
    assert invoke.error_line("best", str(study["spec"]), "--pick", "params<=500").startswith(
        "error: --pick 'params<=500': no trial on the front meets it (params on the front: 690 to 2730)"
    )
    result = invoke("best", str(study["spec"]), "--export", "--pick", "params<=1000", "--formats", "keras")
    assert result.exit_code == 0, result.output
    assert "picked      3" in result.stdout
    card = json.loads((study["root"] / "exports" / "tiny-mo" / "model_card.json").read_text())
    assert card["search"]["trial"] == 3
    assert card["shipped"]["rule"] == "checkpoint"
    objectives = card["objectives"]
    assert objectives["pick"] == "the most accurate trial on the front with params<=1000"
    exported = objectives["exported"]
    assert exported["params"] == 690 and exported["latency_ms"] > 0 and exported["flops"] > 0
    assert exported["size_mb"] == pytest.approx((study["root"] / "exports/tiny-mo/model.keras").stat().st_size / 1e6)
    assert exported["test_accuracy"] == card["test"]["accuracy"]
    assert objectives["device"].startswith(("CPU: ", "GPU: ", "TPU: "))
    assert [row["metric"] for row in objectives["objectives"]] == ["val_accuracy", "params"]
    assert objectives["within_limits"] is True
    markdown = (study["root"] / "exports" / "tiny-mo" / "model_card.md").read_text()
    assert "## Objectives, measured on the exported model" in markdown and "| params | 690 | 690 |" in markdown
