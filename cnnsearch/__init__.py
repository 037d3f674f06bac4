"""cnnsearch: declarative hyperparameter search for Keras CNNs (Optuna studies, MLflow tracking).

The Python API (``cnnsearch.api``, re-exported here) does what the CLI does::

    import cnnsearch
    study = cnnsearch.run("search_spaces/digits.toml", overrides=["study.n_trials=5"])
    frame = cnnsearch.trials("search_spaces/digits.toml", sort="value", top=3)
    record = cnnsearch.best("search_spaces/digits.toml")        # number, value, params, MLflow run
    result = cnnsearch.export_best("search_spaces/digits.toml") # retrain, test, export (exports/<study>/)

Layers, each importing only those before it (checked in CI by import-linter):
spec -> data -> models -> training -> search -> tracking -> reporting | export -> api -> cli.
"""

from __future__ import annotations

from cnnsearch.api import best, export_best, load_study, predict, report, run, trials
from cnnsearch.errors import CnnsearchError, DataError, SpecError, TrialFailed
from cnnsearch.spec import Spec, load_spec

__version__ = "0.1.0"
__all__ = [
    "CnnsearchError",
    "DataError",
    "Spec",
    "SpecError",
    "TrialFailed",
    "__version__",
    "best",
    "export_best",
    "load_spec",
    "load_study",
    "predict",
    "report",
    "run",
    "trials",
]
