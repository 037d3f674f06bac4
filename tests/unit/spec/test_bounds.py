"""The largest network a space can draw, estimated from the spec alone, and refused when too big."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cnnsearch.models import build
from cnnsearch.spec import Spec
from cnnsearch.spec._bounds import MAX_WEIGHTS, _input_shape, _plain, _residual, network_problem

NO_AUGMENT = {"flip": "none", "rotation": 0.0, "translation": 0.0, "zoom": 0.0, "contrast": 0.0}


def _spec(model: dict[str, Any], dataset: str = "cifar10", batch_size: int = 32, **data: Any) -> Spec:
    """The schema alone (validate_spec would refuse the big ones before the test sees them)."""
    return Spec.model_validate(
        {
            "study": {"name": "x"},
            "data": {"dataset": dataset, **data},
            "model": {"dropout": 0.0, **model},
            "train": {"batch_size": batch_size},
        }
    )


PLAIN = {
    "blocks": 3,
    "filters": 16,
    "filter_growth": 2.0,
    "convs_per_block": 2,
    "kernel_size": 3,
    "batch_norm": True,
    "dense_units": 64,
    "head": "flatten",
}
RESIDUAL = {"stages": 3, "blocks_per_stage": 2, "width": 16, "dense_units": 32, "dropout": 0.0}


@pytest.mark.parametrize(
    "model",
    [
        PLAIN,
        {**PLAIN, "blocks": 2, "filters": 8, "filter_growth": 1.5, "batch_norm": False, "dense_units": 0},
        {**PLAIN, "head": "global_average", "kernel_size": 5, "convs_per_block": 1},
    ],
)
def test_plain_estimate_is_keras_count(model: dict[str, Any]) -> None:
    spec = _spec(model)
    params = {**model, **NO_AUGMENT, "architecture": "plain", "dropout": 0.0}
    shape = _input_shape(spec)
    assert shape == (32, 32, 3)
    assert _plain(spec, shape)[0] == build(params, shape, 10).count_params()


def test_residual_estimate_is_keras_count() -> None:
    spec = _spec({"architecture": "residual", "residual": RESIDUAL}, dataset="digits", image_size=[20, 20], channels=3)
    params = {"architecture": "residual", **NO_AUGMENT, **{f"residual_{k}": v for k, v in RESIDUAL.items()}}
    assert _residual(spec, (20, 20, 3))[0] == build(params, (20, 20, 3), 10).count_params()


def test_largest_draw_is_estimated_from_every_choice() -> None:
    """The bound applies to the largest network of the space, though the smallest is tiny."""
    small = {**PLAIN, "filters": 16, "filter_growth": 2.0, "blocks": 2}
    assert network_problem(_spec(small)) is None
    huge = {**small, "filters": {"choices": [16, 4096]}, "filter_growth": {"low": 1.0, "high": 4.0}, "blocks": 12}
    problem = network_problem(_spec({**huge, "head": "global_average"}))
    assert problem is not None and problem.startswith("model: the largest network this space can draw has about")
    assert f"{MAX_WEIGHTS:.0e}" in problem


def test_activation_memory_of_one_batch_is_bounded() -> None:
    model = {**PLAIN, "filters": 512, "head": "global_average", "filter_growth": 1.0}
    assert network_problem(_spec(model, batch_size=64)) is None
    problem = network_problem(_spec(model, batch_size=65536))
    assert problem is not None
    assert "GiB of activations for one batch of 65536 32x32x3 images; at most 64 GiB" in problem


def test_folder_of_unknown_size_is_bounded_by_weights_only(tmp_path: Path) -> None:
    """Without data.image_size a folder's size is known only when it loads: its activations are not guessed."""
    model = {**PLAIN, "filters": 512, "head": "flatten", "filter_growth": 1.0}
    spec = _spec(model, dataset="directory", batch_size=65536, path=str(tmp_path))
    assert network_problem(spec) is None


def test_hypermodel_spaces_are_not_estimated(tmp_path: Path) -> None:
    spec = _spec({}, batch_size=65536)
    assert (
        network_problem(spec.model_copy(update={"model": spec.model.model_copy(update={"hypermodel": "m:f"})})) is None
    )


def test_a_stem_that_halves_the_image_quarters_the_residual_activations() -> None:
    def activations(stem_stride: Any) -> int:
        residual = {**RESIDUAL, "stem_stride": stem_stride}
        spec = _spec(
            {"architecture": "residual", "residual": residual}, dataset="digits", image_size=[32, 32], channels=3
        )
        return _residual(spec, (32, 32, 3))[1]

    assert activations(2) * 4 == activations(1)
    assert activations({"choices": [1, 2]}) == activations(1)  # the bound takes the costliest draw
