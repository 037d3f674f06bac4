"""The search spec's schema: one frozen, strict pydantic model per TOML section.

Nothing is silently dropped: unknown keys are errors (``extra="forbid"``), and each
section checks its own bounds. ``_loading.py`` turns failures into one-line errors.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from cnnsearch.spec._data_section import DataSpec
from cnnsearch.spec._export import ExportSpec
from cnnsearch.spec._limits import path_kind
from cnnsearch.spec._objectives import spec_problem
from cnnsearch.spec._performance import PerformanceSpec
from cnnsearch.spec._study_section import StudySpec
from cnnsearch.spec._types import (
    BACKBONES,
    ArchitectureParam,
    BoolParam,
    Choices,
    ClassWeightParam,
    FlipParam,
    FloatParam,
    FloatRange,
    FreezeParam,
    HeadParam,
    IntParam,
    IntRange,
    Optimizer,
    OptimizerParam,
    SamplingParam,
    ScheduleParam,
    _Section,
    _Strict,
    tunable_values,
)


class ResidualSpec(_Section):
    """ResNet-style network: stages of residual blocks, width doubling (and size halving) per stage."""

    stages: IntParam = Field(
        IntRange(low=2, high=3), description="stages of residual blocks; width doubles and size halves per stage"
    )
    blocks_per_stage: IntParam = Field(
        IntRange(low=1, high=2),
        description="residual basic blocks (two 3x3 convolutions and a skip connection) per stage",
    )
    width: IntParam = Field(Choices[int](choices=[16, 32]), description="the first stage's filters")
    dropout: FloatParam = Field(FloatRange(low=0.0, high=0.3), description="dropout before the classifier")
    dense_units: IntParam = Field(0, description="a hidden dense layer after global average pooling; 0: none")
    stem_stride: IntParam = Field(1, description="the stem convolution's stride: 2 costs a quarter (half-size stages)")

    _bounds = {
        "stem_stride": (1, 4),
        "stages": (1, 6),
        "blocks_per_stage": (1, 8),
        "width": (1, 1024),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
    }


class BackboneSpec(_Section):
    """A Keras Applications backbone with a new head: weights, freezing, input size, fine-tuning."""

    weights: str = Field("none", description="'imagenet', 'none', or a .weights.h5/.h5 file for the backbone")
    freeze: FreezeParam = Field("all", description="'all' backbone layers frozen, 'none', or how many top layers train")
    image_size: IntParam = Field(0, description="resize inputs to this square size; 0: their own size, at least 32")
    alpha: FloatParam = Field(1.0, description="mobilenet_v2 width multiplier")
    dropout: FloatParam = Field(0.2, description="dropout in the new head")
    dense_units: IntParam = Field(0, description="a hidden dense layer in the new head; 0: none")
    fine_tune_epochs: int = Field(0, ge=0, description="after the head trains, unfreeze per freeze and train on")
    fine_tune_lr_factor: FloatParam = Field(
        0.1, description="fine-tuning's learning rate: this times train.learning_rate"
    )

    _bounds = {
        "image_size": (0, 1024),
        "alpha": (0.1, 2.0),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
        "fine_tune_lr_factor": (1e-6, 1.0),
    }

    @model_validator(mode="after")
    def _check_backbone(self) -> BackboneSpec:
        for size in tunable_values(self.image_size):
            if 0 < size < 32:
                raise ValueError(
                    f"image_size: {size} is below 32, the smallest input Keras Applications take (0: automatic)"
                )
        if self.weights not in ("imagenet", "none"):
            path = Path(self.weights)
            try:
                kind = path_kind(self.weights)
            except ValueError as exc:
                raise ValueError(f"weights: {exc}") from None
            if kind != "file":
                raise ValueError(
                    f"weights: expected 'imagenet', 'none' or a weights file; '{self.weights}' does not exist"
                )
            if not path.name.endswith(".h5"):
                raise ValueError(f"weights: '{self.weights}' is not a Keras weights file (.weights.h5 or .h5)")
        if self.weights == "imagenet":
            for alpha in tunable_values(self.alpha):
                if alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
                    raise ValueError(
                        f"alpha: ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4, not {alpha}"
                    )
        return self


class ModelSpec(_Section):
    """The network's search space: which architecture, then that architecture's fields.

    The plain CNN's fields sit at the top of [model] (as before architectures existed);
    ``[model.residual]`` and ``[model.backbone]`` hold the others'.
    """

    architecture: ArchitectureParam = Field(
        "plain",
        description="the network: plain CNN, residual, or a Keras Applications backbone; searchable, and each trial holds only its architecture's params",
    )
    blocks: IntParam = Field(
        IntRange(low=2, high=4), description="conv blocks: conv(s), optional batch norm, ReLU, max pooling, dropout"
    )
    filters: IntParam = Field(Choices[int](choices=[16, 32, 64]), description="the first block's filters")
    filter_growth: FloatParam = Field(2.0, description="filters are multiplied by this per block")
    convs_per_block: IntParam = Field(1, description="convolutions per block")
    kernel_size: IntParam = Field(Choices[int](choices=[3, 5]), description="convolution kernel size")
    batch_norm: BoolParam = Field(
        Choices[bool](choices=[True, False]), description="batch normalization after each convolution"
    )
    dropout: FloatParam = Field(FloatRange(low=0.0, high=0.5), description="dropout after each block")
    dense_units: IntParam = Field(
        Choices[int](choices=[0, 64, 128, 256]), description="a hidden dense layer before the classifier; 0: none"
    )
    head: HeadParam = Field("global_average", description="how the last block's features reach the classifier")
    residual: ResidualSpec = Field(ResidualSpec(), description="the residual network's fields ([model.residual])")
    backbone: BackboneSpec = Field(BackboneSpec(), description="the backbones' fields ([model.backbone])")
    hypermodel: str | None = Field(
        None, description="'module:function' or 'file.py:function': a KerasTuner build(hp) replacing the plain CNN"
    )

    _bounds = {
        "blocks": (1, 12),
        "filters": (1, 4096),
        "filter_growth": (1.0, 4.0),
        "convs_per_block": (1, 4),
        "kernel_size": (1, 11),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
    }

    @model_validator(mode="after")
    def _check_weights_file(self) -> ModelSpec:
        """A weights file holds one backbone's weights: it cannot serve a choice of backbones."""
        chosen = [a for a in tunable_values(self.architecture) if a in BACKBONES]
        if self.backbone.weights not in ("imagenet", "none") and len(chosen) > 1:
            raise ValueError(
                f"backbone: a weights file fits one backbone, but architecture may be {' or '.join(chosen)}"
            )
        return self

    @model_validator(mode="after")
    def _check_hypermodel(self) -> ModelSpec:
        """A hypermodel builds the whole network: the plain CNN's fields would silently do nothing."""
        if self.hypermodel is None:
            return self
        module, _, function = self.hypermodel.rpartition(":")
        if not module or not function.isidentifier():
            raise ValueError(
                f"hypermodel: expected 'module.path:function' or 'file.py:function', got {self.hypermodel!r}"
            )
        unused = sorted(self.model_fields_set - {"hypermodel"})
        if unused:
            raise ValueError(f"{unused[0]}: not used with hypermodel (the hypermodel builds the whole network)")
        return self


class TrainSpec(_Section):
    """The training loop: budget in epochs, optimizer, batch size, early stopping."""

    epochs: int = Field(20, gt=0, description="maximum epochs per trial (the pruner's budget)")
    batch_size: IntParam = Field(Choices[int](choices=[32, 64, 128]), description="training batch size")
    learning_rate: FloatParam = Field(
        FloatRange(low=1e-4, high=1e-2, log=True), description="the optimizer's (peak) learning rate"
    )
    optimizer: OptimizerParam = Field(
        Choices[Optimizer](choices=["adam", "sgd", "adamw"]), description="the Keras optimizer"
    )
    weight_decay: FloatParam = Field(0.004, description="adamw only (decoupled weight decay; Keras's default)")
    momentum: FloatParam = Field(0.9, description="sgd only")
    nesterov: BoolParam = Field(False, description="sgd only")
    clipnorm: FloatParam = Field(0.0, description="clip each gradient's norm to this; 0: no clipping")
    label_smoothing: FloatParam = Field(0.0, description="label smoothing on the integer labels; 0: off")
    lr_schedule: ScheduleParam = Field(
        "constant", description="learning-rate schedule over train.epochs; a schedule replaces the plateau callback"
    )
    warmup_epochs: IntParam = Field(1, description="warmup_cosine only")
    class_weight: ClassWeightParam = Field(
        "none",
        description="'balanced' weighs each class by its inverse frequency; or a table of class name (or index) -> weight",
    )
    sampling: SamplingParam = Field("none", description="resample the training split only")
    early_stopping_patience: int = Field(5, ge=0, description="0 disables early stopping")
    reduce_lr_patience: int = Field(3, ge=0, description="0 disables ReduceLROnPlateau")

    _bounds = {
        "batch_size": (1, 65536),
        "learning_rate": (1e-8, 10.0),
        "weight_decay": (0.0, 1.0),
        "momentum": (0.0, 0.999),
        "clipnorm": (0.0, 1e6),
        "label_smoothing": (0.0, 0.5),
        "warmup_epochs": (0, 10000),
    }


class AugmentSpec(_Section):
    """Random augmentation layers, inside the model and active only in training."""

    flip: FlipParam = Field("none", description="random flips")
    rotation: FloatParam = Field(0.0, description="random rotation, as a fraction of a full turn")
    translation: FloatParam = Field(0.0, description="random shifts, as a fraction of height and width")
    zoom: FloatParam = Field(0.0, description="random zoom, as a fraction of the size")
    contrast: FloatParam = Field(0.0, description="random contrast change, as a fraction")

    _bounds = {name: (0.0, 1.0) for name in ("rotation", "translation", "zoom", "contrast")}


class TrackingSpec(_Strict):
    """Where MLflow logs; defaults to a SQLite store under ./mlruns."""

    tracking_uri: str | None = Field(
        None,
        description="the MLflow tracking URI, e.g. an MLflow server; default: $MLFLOW_TRACKING_URI, "
        "else sqlite:///mlruns/mlflow.db",
    )
    experiment: str = Field("", description="defaults to the study name")


class Spec(_Strict):
    """A whole validated search spec."""

    study: StudySpec = Field(StudySpec(), description="how Optuna searches")
    data: DataSpec = Field(description="the images and their splits")
    model: ModelSpec = Field(ModelSpec(), description="the network's search space")
    train: TrainSpec = Field(TrainSpec(), description="the training loop's search space")
    augment: AugmentSpec = Field(AugmentSpec(), description="augmentation's search space")
    tracking: TrackingSpec = Field(TrackingSpec(), description="where MLflow logs")
    performance: PerformanceSpec = Field(PerformanceSpec(), description="training speed settings (not searched)")
    export: ExportSpec = Field(ExportSpec(), description="what best --export ships")

    @model_validator(mode="after")
    def _rerank_needs_one_split(self) -> Spec:
        if self.export.rerank and self.study.folds > 1:
            raise ValueError(
                "export.rerank: the trials are already scored by cross-validation (study.folds > 1); "
                "leave rerank at 0, or set study.folds = 1"
            )
        problem = spec_problem(self)
        if problem:
            raise ValueError(problem)
        return self
