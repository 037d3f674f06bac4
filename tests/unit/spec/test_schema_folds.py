"""``study.folds`` and the ``wilcoxon`` pruner that compares trials fold by fold."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.spec import load_spec
from tests.conftest import Invoke
from tests.helpers import SpecFile


def test_one_fold_by_default_and_folds_load(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file()
    assert load_spec(path).study.folds == 1
    spec = load_spec(path, ["study.folds=5", "study.pruner=wilcoxon"])
    assert (spec.study.folds, spec.study.pruner) == (5, "wilcoxon")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["study.pruner=wilcoxon"], ["study.pruner", "needs study.folds >= 2"]),
        (["study.folds=0"], ["study.folds", "greater than or equal to 1"]),
        (["study.folds=11"], ["study.folds", "less than or equal to 10"]),
    ],
)
def test_bad_folds_are_one_line(
    invoke: Invoke, tiny_spec_file: SpecFile, overrides: list[str], words: list[str]
) -> None:
    path: Path = tiny_spec_file()
    line = invoke.error_line("validate", str(path), *[a for o in overrides for a in ("--set", o)])
    for word in words:
        assert word in line, line
