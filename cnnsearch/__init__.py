"""cnnsearch: declarative hyperparameter search for Keras CNNs (Optuna studies, MLflow tracking).

Notebook use::

    import cnnsearch
    spec = cnnsearch.load_spec("search_spaces/digits.toml", ["study.n_trials=5"])
    study = cnnsearch.run(spec)
"""

from __future__ import annotations

from typing import Any

from cnnsearch.errors import CnnsearchError, DataError, SpecError, TrialFailed
from cnnsearch.spec import Spec, load_spec

__version__ = "0.1.0"
__all__ = ["CnnsearchError", "DataError", "Spec", "SpecError", "TrialFailed", "load_spec", "run", "__version__"]


def run(spec: Spec, **kwargs: Any) -> Any:
    """Run or resume the study a spec describes (see ``cnnsearch.study.run``); returns the optuna.Study."""
    from cnnsearch.study import run as run_study

    return run_study(spec, **kwargs)
