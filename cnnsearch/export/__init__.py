"""Ship the best trial: retrain, test once on the held-out split, write every format,
reload and compare each, register it in MLflow, write the model card; and predict with it.

Imports every layer up to ``tracking`` (not ``reporting``).
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.export._card import export_summary, shipped_figures, versions
    from cnnsearch.export._evaluation import top_k
    from cnnsearch.export._flips import MIRRORED, wants_flips, with_flips
    from cnnsearch.export._formats import ExportError, compare, parse_formats
    from cnnsearch.export._pipeline import ExportResult, export_best
    from cnnsearch.export._predict import Prediction, Predictor, expand
    from cnnsearch.export._shipping import Shipped, average, retrain_epochs, ship

__all__ = [
    "MIRRORED",
    "ExportError",
    "ExportResult",
    "Prediction",
    "Predictor",
    "Shipped",
    "average",
    "compare",
    "expand",
    "export_best",
    "export_summary",
    "parse_formats",
    "retrain_epochs",
    "ship",
    "shipped_figures",
    "top_k",
    "versions",
    "wants_flips",
    "with_flips",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
