"""Params -> ``keras.Model``: the plain CNN, residual stages, Keras Applications backbones
and KerasTuner hypermodels. Pure Keras: no Optuna, no MLflow, and nothing here compiles
(the training layer does). Imports only ``spec``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.models._backbones import (
        APPLICATIONS,
        BACKBONE,
        WeightsError,
        apply_freeze,
        check_backbone_weights,
        ensure_imagenet,
        imagenet_file,
        input_size,
        keras_cache,
    )
    from cnnsearch.models._hypermodel import INNER, build_hypermodel, inference_for
    from cnnsearch.models._plain import AUGMENTATION, build, build_augmentation, inference_model
    from cnnsearch.models._residual import BN_MOMENTUM

__all__ = [
    "APPLICATIONS",
    "AUGMENTATION",
    "BACKBONE",
    "BN_MOMENTUM",
    "INNER",
    "WeightsError",
    "apply_freeze",
    "build",
    "build_augmentation",
    "build_hypermodel",
    "check_backbone_weights",
    "ensure_imagenet",
    "imagenet_file",
    "inference_for",
    "inference_model",
    "input_size",
    "keras_cache",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
