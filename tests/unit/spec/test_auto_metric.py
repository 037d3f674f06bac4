"""``study.metric``: exactly the keys training logs, or "auto", which the training split's balance decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.spec import (
    BALANCED_METRIC,
    HISTORY_KEYS,
    IMBALANCE_RATIO,
    PLAIN_METRIC,
    as_ran,
    choose_metric,
    imbalance_ratio,
    load_spec,
)
from tests.conftest import Invoke
from tests.helpers import SpecFile


@pytest.mark.parametrize("metric", [*HISTORY_KEYS, "auto"])
def test_every_logged_key_and_auto_validate(tiny_spec_file: SpecFile, metric: str) -> None:
    direction = "minimize" if metric.endswith("loss") else "maximize"
    spec = load_spec(tiny_spec_file(), [f"study.metric={metric}", f"study.direction={direction}"])
    assert spec.study.metric == metric


def test_balanced_metrics_are_logged_names() -> None:
    assert {"val_balanced_accuracy", "val_macro_f1"} <= set(HISTORY_KEYS)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            ["study.metric=val_auc"],
            "study.metric: the built-in networks log val_accuracy, val_balanced_accuracy, val_macro_f1, val_loss, "
            "accuracy, loss; got 'val_auc'",
        ),
        (["study.metric=balanced_accuracy"], "got 'balanced_accuracy' (did you mean 'val_balanced_accuracy'?)"),
        (["study.metric=auto", "study.direction=minimize"], "study.direction: metric = 'auto' picks an accuracy"),
        (
            [
                'study.objectives=[{ metric = "auto", direction = "maximize" }, '
                '{ metric = "params", direction = "minimize" }]'
            ],
            "study.objectives[0].metric: 'auto' is for study.metric alone",
        ),
    ],
)
def test_a_metric_training_never_logs_is_one_line(
    invoke: Invoke, tiny_spec_file: SpecFile, overrides: list[str], line: str
) -> None:
    error = invoke.error_line("validate", str(tiny_spec_file()), *[a for o in overrides for a in ("--set", o)])
    assert line in error and "\n" not in error, error


def test_a_hypermodel_may_name_its_own_metric(tiny_spec_file: SpecFile, tmp_path: Path) -> None:
    """Its own compile may log more (an AUC, say): checked at its first epoch, not here."""
    text = tiny_spec_file().read_text().split("[model]")[0]
    path = tmp_path / "hm.toml"
    example = Path(__file__).parents[3] / "search_spaces" / "hypermodels" / "digits_hypermodel.py"
    path.write_text(text + f'[model]\nhypermodel = "{example}:build"\n\n[train]\nepochs = 1\nbatch_size = 32\n')
    assert load_spec(path, ["study.metric=val_auc"]).study.metric == "val_auc"


@pytest.mark.parametrize(
    ("counts", "metric"),
    [
        ([480, 288, 168, 96], BALANCED_METRIC),  # the animals folder's 100/60/35/20 shares: 5x
        ([150, 100], BALANCED_METRIC),  # exactly at the threshold
        ([149, 100], PLAIN_METRIC),
        ([157, 160, 151, 158, 155, 163, 155, 161, 157, 154], PLAIN_METRIC),  # digits-like
        ([50, 0, 50], PLAIN_METRIC),  # a class with no training image is not the smallest
    ],
)
def test_auto_picks_balanced_accuracy_past_the_ratio(counts: list[int], metric: str) -> None:
    names = [f"c{i}" for i in range(len(counts))]
    chosen, why = choose_metric(counts, names)
    assert chosen == metric
    assert f"{imbalance_ratio(counts):.2f}x" in why and f"{IMBALANCE_RATIO:g}x" in why
    assert ("imbalanced" in why) == (metric == BALANCED_METRIC)


def test_later_commands_read_the_choice_back_from_the_study(tiny_spec_file: SpecFile) -> None:
    auto = load_spec(tiny_spec_file(), ["study.metric=auto"])
    assert as_ran(auto, [BALANCED_METRIC]).study.metric == BALANCED_METRIC
    assert as_ran(auto, None).study.metric == "auto"  # never ran: nothing to read
    named = load_spec(tiny_spec_file(), ["study.metric=val_macro_f1"])
    assert as_ran(named, [PLAIN_METRIC]) is named
