"""The Python API: every command of the CLI as a typed function, and the one place
that wires the layers together (data, models, training, search, tracking, reporting,
export). The CLI calls only these functions and formats what they return.

Heavy imports (Keras, Optuna, MLflow) happen inside the functions, so importing ``cnnsearch`` stays fast.
Every function takes a spec as a path (with ``overrides``, as ``--set`` does) or a loaded :class:`~cnnsearch.spec.Spec`.

Example (a notebook)::

    import cnnsearch
    study = cnnsearch.run("search_spaces/digits.toml", overrides=["study.n_trials=2"])
    cnnsearch.trials("search_spaces/digits.toml").head()
"""

from cnnsearch.api._browse import ReportResult, predict, report, serve, tracking_uri, ui, ui_command
from cnnsearch.api._schema import spec_schema
from cnnsearch.api._search import SpecLike, best, export_best, load, load_study, run, serve_worker, trials, validate
from cnnsearch.api._text import best_lines, check_formats, spec_text, trials_json, trials_lines

__all__ = [
    "ReportResult",
    "SpecLike",
    "best",
    "best_lines",
    "check_formats",
    "export_best",
    "load",
    "load_study",
    "predict",
    "report",
    "run",
    "serve",
    "serve_worker",
    "spec_schema",
    "spec_text",
    "tracking_uri",
    "trials",
    "trials_json",
    "trials_lines",
    "ui",
    "ui_command",
    "validate",
]
