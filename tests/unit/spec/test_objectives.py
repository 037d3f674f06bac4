"""``study.objectives`` and the hard cost limits: what loads, what it means, and one line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.spec import describe_objectives, is_multi_objective, limits, load_spec, measured_costs, spec_to_toml
from tests.conftest import Invoke
from tests.helpers import SpecFile

ACCURACY = '{ metric = "val_accuracy", direction = "maximize" }'
LATENCY = '{ metric = "latency_ms", direction = "minimize" }'


def objectives(*items: str) -> str:
    return f"study.objectives=[{', '.join(items)}]"


def test_objectives_make_the_first_one_the_trained_metric(tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(), [objectives(ACCURACY, LATENCY), "study.max_params=50000"])
    s = spec.study
    assert (s.metric, s.direction) == ("val_accuracy", "maximize")
    assert [(o.metric, o.direction) for o in s.objectives] == [("val_accuracy", "maximize"), ("latency_ms", "minimize")]
    assert is_multi_objective(s)
    assert limits(s) == {"params": 50000.0}
    assert measured_costs(s) == ("params", "latency_ms")  # the cost objective and the limited cost
    assert describe_objectives(s) == "maximize val_accuracy, minimize latency_ms (max_params = 50000)"


def test_the_resolved_spec_loads_again_the_same(tiny_spec_file: SpecFile, tmp_path: Path) -> None:
    spec = load_spec(tiny_spec_file(), [objectives(ACCURACY, LATENCY), "study.max_latency_ms=5"])
    again = tmp_path / "again.toml"
    again.write_text(spec_to_toml(spec))
    assert load_spec(again) == spec


def test_without_objectives_the_single_metric_is_unchanged(tiny_spec_file: SpecFile) -> None:
    s = load_spec(tiny_spec_file(), ["study.metric=val_loss", "study.direction=minimize"]).study
    assert (s.metric, s.direction, s.objectives) == ("val_loss", "minimize", [])
    assert not is_multi_objective(s) and measured_costs(s) == ()
    # A hard limit alone: a single-objective study that measures that cost before training.
    limited = load_spec(tiny_spec_file(), ["study.max_latency_ms=2.5"]).study
    assert measured_costs(limited) == ("latency_ms",) and limits(limited) == {"latency_ms": 2.5}


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            [objectives(ACCURACY, '{ metric = "latency", direction = "minimize" }')],
            "study.objectives[1].metric: expected a built-in cost (params, flops, size_mb, latency_ms) after the "
            "trained metric, got 'latency' (did you mean 'latency_ms'?)",
        ),
        (
            [objectives(ACCURACY, '{ metric = "latency_ms", direction = "min" }')],
            "study.objectives[1].direction: expected 'maximize' or 'minimize', got 'min'",
        ),
        (
            [objectives(ACCURACY, '{ metric = "latency_ms", direction = "maximize" }')],
            "study.objectives[1].direction: a cost is minimized, got 'maximize'",
        ),
        (
            [objectives('{ metric = "val_acc", direction = "maximize" }', LATENCY)],
            "study.objectives[0].metric: the built-in networks log val_accuracy, val_balanced_accuracy, val_macro_f1, "
            "val_loss, accuracy, loss; "
            "got 'val_acc' (did you mean 'val_accuracy'?)",
        ),
        (
            [objectives(LATENCY, ACCURACY)],
            "study.objectives[0].metric: the first objective is the one trained for, a Keras history key",
        ),
        ([objectives(ACCURACY)], "study.objectives: one objective is study.metric and study.direction"),
        ([objectives(ACCURACY, LATENCY, LATENCY)], "study.objectives[2].metric: 'latency_ms' is already an objective"),
        (
            [objectives(ACCURACY, '{ metric = "latency_ms", dir = "minimize" }')],
            "unknown key 'study.objectives[1].dir'",
        ),
        (
            ["study.metric=val_loss", objectives(ACCURACY, LATENCY)],
            "study.metric: with objectives, training optimizes objectives[0] (metric = 'val_accuracy'), "
            "not 'val_loss'; leave metric out",
        ),
        (
            ["study.folds=3", objectives(ACCURACY, LATENCY)],
            "study.folds: a multi-objective study scores on one split",
        ),
        (["study.sampler=cmaes", objectives(ACCURACY, LATENCY)], "study.sampler: 'cmaes' optimizes one objective"),
        (["export.rerank=3", objectives(ACCURACY, LATENCY)], "export.rerank: a multi-objective study ships"),
        (["study.max_latency_ms=0"], "study.max_latency_ms: input should be greater than 0, got 0"),
        (['study.max_params="big"'], "study.max_params: expected an integer, got 'big'"),
        (["study.max_paramz=5"], "unknown key 'study.max_paramz' (did you mean 'max_params'?)"),
    ],
)
def test_each_mistake_is_one_line_naming_the_field(
    invoke: Invoke, tiny_spec_file: SpecFile, overrides: list[str], line: str
) -> None:
    path = tiny_spec_file()
    error = invoke.error_line("validate", str(path), *[a for o in overrides for a in ("--set", o)])
    assert line in error, error
