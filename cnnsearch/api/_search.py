"""Validate a spec, run its study, and read back trials, the best one and its export."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from cnnsearch._paths import logs_dir, shown, spec_file_problem
from cnnsearch._runtime import load_keras
from cnnsearch.api._data import load_data, say_data_notes
from cnnsearch.errors import CnnsearchError, SpecError
from cnnsearch.spec import Spec, as_ran, is_auto, load_spec, spec_to_toml

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from cnnsearch.data import Splits
    from cnnsearch.export import ExportResult

#: A spec file's path, or a spec already loaded.
SpecLike = Union[Spec, str, Path]


def load(spec: SpecLike, overrides: Sequence[str] = ()) -> Spec:
    """The spec, loaded and validated if given as a path.

    Args:
        spec: A TOML file's path, or a loaded Spec (then ``overrides`` must be empty).
        overrides: ``SECTION.KEY=VALUE`` items, as ``--set`` takes them.

    Returns:
        The validated, frozen Spec.

    Raises:
        SpecError: one line naming the file (or ``--set``), the field and what was expected.

    Examples:
        >>> cnnsearch.api.load("search_spaces/digits.toml", ["study.n_trials=2"]).study.n_trials
        2
    """
    if isinstance(spec, Spec):
        if overrides:
            raise CnnsearchError("overrides apply to a spec file; pass the path, or change the Spec with model_copy")
        return spec
    problem = spec_file_problem(spec)  # before the loader stats it: ENAMETOOLONG or ELOOP would be a traceback
    if problem:
        raise SpecError(f"{shown(spec)}: the spec file's path {problem}")
    return load_spec(spec, list(overrides))


def validate(spec: SpecLike, overrides: Sequence[str] = (), *, write: bool = True, tracking: bool = True) -> Spec:
    """The spec (:func:`load`), then all ``run`` needs beyond its fields: files, storage, MLflow store
    (``tracking.environment_problem``; ``write=False``: only what a read-only command opens, ``tracking=False``:
    no MLflow store). Creates nothing; one-line CnnsearchError naming the file or ``--set`` and the field."""
    from cnnsearch.tracking import environment_problem

    resolved = load(spec, overrides)
    source = None if isinstance(spec, Spec) else str(spec)
    problem = environment_problem(resolved, source, overrides, write=write, tracking=tracking)
    if problem:
        raise CnnsearchError(problem)
    return resolved


def run(
    spec: SpecLike,
    *,
    overrides: Sequence[str] = (),
    workers: int | None = None,
    progress: bool = True,
) -> optuna.Study:
    """Run (or resume) the search a spec describes, exactly as ``cnnsearch run`` does.

    ``workers=N`` trains in N worker processes sharing the study; with
    ``study.trials_per_worker`` set and no ``workers``, one recycled worker process
    runs the trials (so its memory is returned); otherwise they run in this process.

    Args:
        spec: The spec file (or a loaded Spec).
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.
        workers: How many worker processes; None decides as above.
        progress: Show progress bars, one line per finished trial and the best trials.

    Returns:
        The optuna.Study, with ``n_trials`` complete-or-pruned trials.

    Raises:
        SpecError, DataError: a bad spec or dataset, before any training.
        CnnsearchError: the study stopped (``max_consecutive_failures``) or a worker failed.
        KeyboardInterrupt: Ctrl-C; finished trials are saved, running again resumes.

    Examples:
        >>> study = cnnsearch.run("search_spaces/digits.toml", overrides=["study.n_trials=2"])
        >>> len(study.trials) >= 2
        True
    """
    resolved = validate(spec, overrides)  # the same checks as `cnnsearch validate`, before Keras loads
    if workers is not None and workers < 1:
        raise CnnsearchError(f"workers: expected 1 or more, got {workers}")
    backend = load_keras()
    from cnnsearch import models, search, training
    from cnnsearch.reporting import PoolConsole, SearchConsole, SearchTracking
    from cnnsearch.tracking import tracking_uri

    pool = workers or (1 if resolved.study.trials_per_worker else 0)
    loaded: tuple[Splits, Path | None] | None = None
    why = None
    if is_auto(resolved):  # "auto" is decided on the training split: loaded before the first line says which
        loading = SearchConsole(resolved) if progress else None  # only its progress bar, for the decode pass
        with loading if loading is not None else contextlib.nullcontext():
            loaded = load_data(resolved, loading, notes=False, shared=pool > 0)  # said after the first line
        resolved, why = training.settle_metric(resolved, loaded[0])
    display: SearchConsole | None = None
    if progress:
        display = PoolConsole(resolved, pool) if pool else SearchConsole(resolved)
        if why:
            display.say(why)  # the first line: what "auto" picked and why
        display.study_header(backend, pool, search.this_device().line())
        if loaded is not None:
            say_data_notes(display, *loaded)
    path = None if isinstance(spec, Spec) else Path(spec)
    with display if display is not None else contextlib.nullcontext():
        if pool:
            worker_spec, worker_overrides = (path, list(overrides)) if path else (_resolved_file(resolved), [])
            tracking = SearchTracking(resolved)
            if resolved.data.dataset == "directory":  # decode once here, with progress; the workers reopen the cache
                tracking.use_data(*(loaded or load_data(resolved, display, shared=True)))
            pool_display = display if isinstance(display, PoolConsole) else None
            study = search.run_workers(resolved, worker_spec, worker_overrides, pool, tracking, pool_display)
        else:
            splits, bad_list = loaded or load_data(resolved, display)
            models.check_backbone_weights(resolved)  # ImageNet weights cached or downloadable: else one line now
            training.check_class_weights(resolved, splits.class_names)
            tracking = SearchTracking(resolved)
            tracking.use_data(splits, bad_list)
            study = search.run(resolved, splits, tracking, path, display)
    if display is not None:
        display.study_footer(study, tracking_uri(resolved))
    return study


def _resolved_file(spec: Spec) -> Path:
    """A spec given as an object, written where worker processes can load it."""
    path = logs_dir(spec.study.name) / "spec.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_to_toml(spec), encoding="utf-8")
    return path


def serve_worker(
    spec: SpecLike, *, overrides: Sequence[str] = (), slot: int = 0, since: float = 0.0, max_trials: int | None = None
) -> str:
    """One worker process of ``run(..., workers=N)`` (the hidden ``cnnsearch worker`` command).

    Args:
        spec: The spec file the supervisor passed.
        overrides: Its ``--set`` items.
        slot: This worker's index (sampler seed, GPU placement).
        since: When the supervisor's session began (Unix time): the failure streak and timeout count from there.
        max_trials: Exit after this many trials, to be recycled; None: never.

    Returns:
        Why the worker stopped: "done", "recycle", "stopped" or "timeout".

    Examples:
        >>> cnnsearch.api.serve_worker("search_spaces/digits.toml", max_trials=1)  # after run() created the study
        'recycle'
    """
    resolved = load(spec, overrides)
    load_keras()
    from cnnsearch import data, search, training
    from cnnsearch.reporting import SearchTracking

    search.prepare_worker_process()
    # An image folder: the supervisor's cache, streamed, so every worker shares one copy of its pages.
    splits = data.load(resolved.data, seed=resolved.study.seed, shared=True)
    resolved, _ = training.settle_metric(resolved, splits)  # "auto": the same choice as the supervisor's
    tracking = SearchTracking(resolved)
    tracking.use_data(splits)
    return search.serve(resolved, splits, tracking, slot, since, max_trials)


def load_study(spec: SpecLike, *, overrides: Sequence[str] = ()) -> optuna.Study:
    """The spec's study, read-only (nothing trains).

    Args:
        spec: The spec file (or a loaded Spec).
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.

    Returns:
        The optuna.Study.

    Raises:
        CnnsearchError: the study never ran (``cnnsearch run`` first), or its storage cannot be opened.

    Examples:
        >>> cnnsearch.load_study("search_spaces/digits.toml").study_name
        'digits-cnn'
    """
    from cnnsearch import search

    return search.load_study(load(spec, overrides))


def trials(
    spec: SpecLike,
    *,
    overrides: Sequence[str] = (),
    states: Sequence[str] | None = None,
    sort: str = "number",
    top: int | None = None,
    front: bool = False,
) -> pd.DataFrame:
    """The study's trials as a table, as ``cnnsearch trials`` lists them (``front``: the front's only, ``--front``).

    Args:
        spec: The spec file (or a loaded Spec).
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.
        states: Only trials in these states (COMPLETE, PRUNED, FAIL, RUNNING, WAITING).
        sort: "number", "value" (best first) or "duration_s".
        top: Only the first ``top`` rows after sorting.

    Returns:
        One row per trial: state, value, duration, epochs, pruned epoch, diagnosis, fail reason,
        tracking time, MLflow run id, ``infeasible``, ``costs.<name>``, ``params.<name>``.

    Raises:
        CnnsearchError: no such study, or an unknown state or sort key.

    Examples:
        >>> cnnsearch.trials("search_spaces/digits.toml", sort="value", top=3)[["number", "value"]]
    """
    from cnnsearch import search
    from cnnsearch.reporting import trials_frame

    resolved = validate(spec, overrides, write=False, tracking=False)
    study = search.load_study(resolved)
    resolved = as_ran(resolved, study.metric_names)
    return trials_frame(study, resolved, list(states or []), sort, top, front_only=front)


def best(spec: SpecLike, *, overrides: Sequence[str] = (), pick: str | None = None) -> dict[str, Any]:
    """The best complete trial, as ``cnnsearch best`` prints it (or the one ``pick`` chooses: ``--pick``).

    Args:
        spec: The spec file (or a loaded Spec).
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.

    Returns:
        study, metric, direction, number, value, params, mlflow_run_id, epochs_run, exported (or None).

    Raises:
        CnnsearchError: no such study, or no complete trial yet.

    Examples:
        >>> cnnsearch.best("search_spaces/digits.toml")["value"] > 0.9
        True
    """
    from cnnsearch import search
    from cnnsearch._paths import export_dir
    from cnnsearch.export import export_summary
    from cnnsearch.reporting import best_record

    resolved = validate(spec, overrides, write=False, tracking=False)
    study = search.load_study(resolved)
    record = best_record(study, as_ran(resolved, study.metric_names), pick)
    record["exported"] = export_summary(export_dir(resolved.study.name), record["number"])  # the card's owner reads it
    return record


def export_best(
    spec: SpecLike,
    directory: Path | str | None = None,
    *,
    overrides: Sequence[str] = (),
    formats: Sequence[str] | str = "all",
    say: Callable[[str], None] = print,
    pick: str | None = None,
) -> ExportResult:
    """Ship the best trial (``[export] ship``; or ``pick``, a trial of the front), test it once, export, verify
    (not named ``export``: the ``cnnsearch.export`` package has that name).

    Args:
        spec: The spec file (or a loaded Spec).
        directory: Where to write; default ``exports/<study name>/``.
        overrides: ``SECTION.KEY=VALUE`` items applied to the file.
        formats: keras, saved_model, onnx, tflite: a list, a comma-separated string, or "all".
        say: Receives each progress line; ``pick``: ``"latency_ms<=5"`` or ``"trial=N"`` (``--pick``).

    Returns:
        An ExportResult: the folder, the model card (a dict) and each format's agreement.

    Raises:
        ExportError: a written file disagrees with the trained model (the previous export stays).
        CnnsearchError: no complete trial, or a format that cannot be written here.

    Examples:
        >>> result = cnnsearch.export_best("search_spaces/digits.toml", formats="keras")
        >>> result.card["test"]["accuracy"] > 0.9
        True
    """
    resolved = validate(spec, overrides)  # it writes to the MLflow store and mlruns/
    load_keras()  # before export's modules import Keras: TensorFlow's C++ start-up lines stay silenced
    from cnnsearch.export import export_best as run_export
    from cnnsearch.export import parse_formats

    chosen = parse_formats(formats) if isinstance(formats, str) else parse_formats(",".join(formats))
    return run_export(resolved, Path(directory) if directory is not None else None, chosen, say=say, pick=pick)
