"""Params -> ``keras.Model``: the plain CNN, residual stages, Keras Applications backbones
and KerasTuner hypermodels. Pure Keras: no Optuna, no MLflow, and nothing here compiles
(the training layer does). Imports only ``spec``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.models._backbones import APPLICATIONS, BACKBONE, apply_freeze, check_backbone_weights
    from cnnsearch.models._hypermodel import build_hypermodel, inference_for
    from cnnsearch.models._plain import build

__all__ = [
    "APPLICATIONS",
    "BACKBONE",
    "apply_freeze",
    "build",
    "build_hypermodel",
    "check_backbone_weights",
    "inference_for",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
