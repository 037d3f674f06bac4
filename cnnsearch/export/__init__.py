"""Ship the best trial: retrain, test once on the held-out split, write every format,
reload and compare each, register it in MLflow, write the model card; and predict with it.

Imports every layer up to ``tracking`` (not ``reporting``).
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.export._card import (
        CARD_JSON,
        CARD_MD,
        CONVERSION,
        export_summary,
        figure_lines,
        figures_section,
        read_card,
        render_markdown,
        shipped_figures,
        versions,
        write_card,
    )
    from cnnsearch.export._evaluation import (
        classification_figures,
        lead_figure,
        plot_confusion_matrix,
        plot_training_curves,
        top_k,
    )
    from cnnsearch.export._flips import MIRRORED, wants_flips, with_flips
    from cnnsearch.export._formats import (
        FORMATS,
        MAX_ACCURACY_DIFF,
        MAX_PROB_DIFF,
        Agreement,
        ExportError,
        check_available,
        compare,
        parse_formats,
        tflite_interpreter,
        write_and_verify,
    )
    from cnnsearch.export._objectives_card import measured_objectives, objectives_line, objectives_markdown
    from cnnsearch.export._pipeline import ExportResult, default_directory, export_best
    from cnnsearch.export._predict import Prediction, Predictor, expand
    from cnnsearch.export._shipping import Shipped, average, ensemble_members, retrain_epochs, ship

__all__ = [
    "CARD_JSON",
    "CARD_MD",
    "CONVERSION",
    "FORMATS",
    "MAX_ACCURACY_DIFF",
    "MAX_PROB_DIFF",
    "MIRRORED",
    "Agreement",
    "ExportError",
    "ExportResult",
    "Prediction",
    "Predictor",
    "Shipped",
    "average",
    "check_available",
    "classification_figures",
    "compare",
    "default_directory",
    "ensemble_members",
    "expand",
    "export_best",
    "export_summary",
    "figure_lines",
    "figures_section",
    "lead_figure",
    "measured_objectives",
    "objectives_line",
    "objectives_markdown",
    "parse_formats",
    "plot_confusion_matrix",
    "plot_training_curves",
    "read_card",
    "render_markdown",
    "retrain_epochs",
    "ship",
    "shipped_figures",
    "tflite_interpreter",
    "top_k",
    "versions",
    "wants_flips",
    "with_flips",
    "write_and_verify",
    "write_card",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
