"""Which params a spec searches: conditional on the architecture, the grid, ``initial_params``."""

from __future__ import annotations

import optuna
import pytest

from cnnsearch.errors import SpecError
from cnnsearch.models import build
from cnnsearch.search import suggest
from cnnsearch.spec import grid, load_spec, searched_names, validate_spec
from tests.helpers import SpecFile


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{learning_rate = 0.5}", "study.initial_params.learning_rate: 0.5 is outside [0.001, 0.01]"),
        ("{filters = 32}", "study.initial_params.filters: 32 is not among the choices [8, 16]"),
        ("{kernel_size = 3}", "study.initial_params.kernel_size: not a searched param"),
        ("{blocks = 2.5}", "study.initial_params.blocks: expected an integer in [1, 2], got 2.5"),
        ("{blocks = 2.0}", "study.initial_params.blocks: expected an integer in [1, 2], got 2.0"),
        ("{blocks = true}", "study.initial_params.blocks: expected an integer in [1, 2], got True"),
        ("{filters = 16.0}", "study.initial_params.filters: 16.0 is not among the choices [8, 16]"),
        ("{batch_norm = 1}", "study.initial_params.batch_norm: 1 is not among the choices [True, False]"),
        ('{learning_rate = "0.005"}', "study.initial_params.learning_rate: expected a number in [0.001, 0.01]"),
    ],
)
def test_bad_initial_params_stop_before_training(tiny_spec_file: SpecFile, value: str, message: str) -> None:
    path = tiny_spec_file()
    with pytest.raises(SpecError) as error:
        load_spec(path, [f"study.initial_params={value}"])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_initial_params_off_the_steps_are_refused(tiny_spec_file: SpecFile) -> None:
    path = tiny_spec_file()
    steps = ["model.blocks={low=1,high=5,step=2}", "model.dropout={low=0.0,high=0.3,step=0.1}"]
    with pytest.raises(SpecError, match=r"initial_params.blocks: 2 is not on the range's steps \(1, 3, ...\)"):
        load_spec(path, [*steps, "study.initial_params={blocks=2}"])
    with pytest.raises(SpecError, match="initial_params.dropout: 0.15 is not on the range's steps"):
        load_spec(path, [*steps, "study.initial_params={dropout=0.15}"])
    spec = load_spec(path, [*steps, "study.initial_params={blocks=3,dropout=0.2,learning_rate=0.005}"])
    assert spec.study.initial_params == {"blocks": 3, "dropout": 0.2, "learning_rate": 0.005}
    # An int is a number for a float range, as TOML writes 1 for 1.0.
    assert load_spec(path, ["train.label_smoothing={low=0,high=0.5}", "study.initial_params={label_smoothing=0}"])


def test_default_spec_is_still_the_plain_cnn_with_the_same_param_names() -> None:
    spec = validate_spec({"study": {"name": "x"}, "data": {"dataset": "digits"}})
    assert spec.model.architecture == "plain"
    assert searched_names(spec) == [
        "blocks",
        "filters",
        "kernel_size",
        "batch_norm",
        "dropout",
        "dense_units",
        "batch_size",
        "learning_rate",
        "optimizer",
    ]
    params = suggest(
        optuna.trial.FixedTrial(
            {
                "blocks": 2,
                "filters": 16,
                "kernel_size": 3,
                "batch_norm": True,
                "dropout": 0.1,
                "dense_units": 0,
                "batch_size": 32,
                "learning_rate": 0.001,
                "optimizer": "adam",
            }
        ),
        spec,
    )
    assert params["architecture"] == "plain" and not any(k.startswith(("residual_", "backbone_")) for k in params)
    assert build(params, (8, 8, 1), 10).name == "cnnsearch_cnn"


def test_grid_over_architectures_has_no_duplicate_points() -> None:
    spec = validate_spec(
        {
            "study": {"name": "x", "sampler": "grid"},
            "data": {"dataset": "digits"},
            "model": {
                "architecture": {"choices": ["plain", "residual"]},
                "dropout": 0.1,
                "residual": {"dropout": 0.0, "stages": 2},
            },
            "train": {"learning_rate": 0.01, "optimizer": "adam", "batch_size": 32},
        }
    )
    space = grid(spec)
    # Plain's searched fields and residual's, but no backbone field: none of the choices uses them.
    assert "residual_blocks_per_stage" in space and "blocks" in space
    assert not any(name.startswith("backbone_") for name in space)
