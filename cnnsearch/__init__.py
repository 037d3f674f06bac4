"""cnnsearch: declarative hyperparameter search for Keras CNNs (Optuna studies, MLflow tracking).

Notebook use::

    import cnnsearch
    spec = cnnsearch.load_spec("search_spaces/digits.toml", ["study.n_trials=5"])
    study = cnnsearch.run(spec)
    record = cnnsearch.best(spec)                 # the best trial: number, value, params
    result = cnnsearch.export_best(spec)          # retrain, test and export it (exports/<study>/)
"""

from __future__ import annotations

from typing import Any

from cnnsearch.errors import CnnsearchError, DataError, SpecError, TrialFailed
from cnnsearch.spec import Spec, load_spec

__version__ = "0.1.0"
__all__ = ["CnnsearchError", "DataError", "Spec", "SpecError", "TrialFailed", "best", "export_best", "load_spec", "run", "__version__"]


def run(spec: Spec, **kwargs: Any) -> Any:
    """Run or resume the study a spec describes (see ``cnnsearch.study.run``); returns the optuna.Study."""
    from cnnsearch.study import run as run_study

    return run_study(spec, **kwargs)


def best(spec: Spec) -> dict[str, Any]:
    """The best complete trial of the spec's study: number, value, params, MLflow run id."""
    from cnnsearch.report import best_record
    from cnnsearch.study import load_study

    return best_record(load_study(spec), spec)


def export_best(spec: Spec, **kwargs: Any) -> Any:
    """Retrain, test and export the best trial (see ``cnnsearch.export.export_best``); returns an ExportResult.

    Not named ``export``: importing the ``cnnsearch.export`` module would shadow it.
    """
    from cnnsearch.export import export_best as run_export

    return run_export(spec, **kwargs)
