"""The ``[data]`` section: where the images come from and how they are split."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from cnnsearch.spec._limits import path_kind
from cnnsearch.spec._types import _Strict

#: Images are resized to at most this many pixels a side (as ``[model.backbone] image_size``).
MAX_IMAGE_SIDE = 1024
Dataset = Literal["cifar10", "mnist", "fashion_mnist", "digits", "directory", "npz"]


class DataSpec(_Strict):
    """Where the images come from and how they are split (test is never searched on)."""

    dataset: Dataset = Field(
        description="where the images come from: a Keras dataset, digits (scikit-learn), an image folder or an .npz file"
    )
    path: str | None = Field(
        None,
        description="a local cifar-10-batches-py folder, an image folder (one sub-folder per class) or an .npz file; "
        "relative to the spec file",
    )
    validation_split: float = Field(0.1, gt=0, lt=1, description="share of train held out for validation, stratified")
    test_split: float = Field(0.2, gt=0, lt=1, description="only for datasets without a test set")
    image_size: list[int] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description=f"resize every image to [height, width] when loaded, at most {MAX_IMAGE_SIDE} a side; default: as loaded",
    )
    channels: Literal[1, 3] | None = Field(
        None, description="convert to 1 (grayscale) or 3 (RGB) channels; default: as loaded"
    )
    max_train_samples: int | None = Field(None, gt=0, description="stratified subsample, for quick runs")

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and not all(1 <= side <= MAX_IMAGE_SIDE for side in value):
            raise ValueError(f"expected [height, width], each from 1 to {MAX_IMAGE_SIDE}, got {value}")
        return value

    @model_validator(mode="after")
    def _check_path(self) -> DataSpec:
        if self.dataset in ("directory", "npz") and self.path is None:
            raise ValueError(f"path: dataset '{self.dataset}' needs a path")
        if self.path is not None:
            if self.dataset in ("mnist", "fashion_mnist", "digits"):
                raise ValueError(f"path: dataset '{self.dataset}' takes no path")
            try:
                kind = path_kind(self.path)
            except ValueError as exc:
                raise ValueError(f"path: {exc}") from None
            if kind == "missing":
                raise ValueError(f"path: '{self.path}' does not exist")
            if self.dataset == "npz" and kind != "file":
                raise ValueError(f"path: '{self.path}' is not an .npz file")
            if self.dataset in ("cifar10", "directory") and kind != "folder":
                raise ValueError(f"path: '{self.path}' is not a folder")
        return self
