"""Create or resume the Optuna study a spec describes, and run it to ``n_trials``.

``n_trials`` counts the whole study (complete + pruned trials, across restarts):
running the same spec again resumes where it stopped instead of starting over.
"""

from __future__ import annotations

import os
import re
import time
import zlib
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnsearch import heartbeat, space
from cnnsearch.errors import CnnsearchError, SpecError
from cnnsearch.spec import Spec, spec_to_dict, spec_to_toml
from cnnsearch.tracking import HOME

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SPEC_ATTR = "cnnsearch_spec"
#: Trial user attributes: the trial's MLflow run, and why it failed.
RUN_ID_ATTR = "mlflow_run_id"
REASON_ATTR = "fail_reason"
#: Study (and first trial) user attribute: [study] initial_params were queued.
INITIAL_ATTR = "initial_params"


def quiet_optuna() -> None:
    """Optuna's per-trial INFO lines and experimental warnings would drown our own display."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def default_storage_path(name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return HOME / "studies" / f"{safe}.journal"


def make_storage(spec: Spec) -> optuna.storages.BaseStorage:
    """A journal file under mlruns/ by default (safe for several processes on one machine),
    a ``*.journal`` path, or any RDB URL (PostgreSQL for workers on several machines)."""
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    url = spec.study.storage
    if url is None or url.endswith(".journal"):
        path = Path(url) if url else default_storage_path(spec.study.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    from cnnsearch.locks import sqlalchemy_url, study_lock

    try:
        with study_lock(spec):  # machines starting together on an empty database create its tables once
            return RDBStorage(
                sqlalchemy_url(url),
                heartbeat_interval=heartbeat.INTERVAL_S,
                grace_period=heartbeat.GRACE_S,
                heartbeat_stale_trial_callback=heartbeat.StaleTrialHandler(spec),
            )
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds
        raise CnnsearchError(f"study.storage: cannot open '{url}': {str(exc).splitlines()[0]}") from None


def make_sampler(spec: Spec, seed: int) -> optuna.samplers.BaseSampler:
    s = spec.study
    samplers = optuna.samplers
    if s.sampler == "tpe":
        return samplers.TPESampler(seed=seed, n_startup_trials=s.startup_trials, multivariate=True, group=True)
    if s.sampler == "random":
        return samplers.RandomSampler(seed=seed)
    if s.sampler == "gp":
        _require("torch", "the 'gp' sampler needs PyTorch: pip install torch")
        return samplers.GPSampler(seed=seed, n_startup_trials=s.startup_trials)
    if s.sampler == "cmaes":
        _require("cmaes", "the 'cmaes' sampler needs the cmaes package: pip install cmaes")
        return samplers.CmaEsSampler(seed=seed, n_startup_trials=s.startup_trials, warn_independent_sampling=False)
    if s.sampler == "qmc":
        return samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if s.sampler == "grid":
        return samplers.GridSampler(space.grid(spec), seed=seed)
    raise SpecError(f"study.sampler: unknown sampler {s.sampler!r}")


def _require(module: str, message: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SpecError(f"study.sampler: {message}")


def make_pruner(spec: Spec) -> optuna.pruners.BasePruner:
    s, epochs = spec.study, spec.train.epochs
    pruners = optuna.pruners
    if s.pruner == "hyperband":
        return pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if s.pruner == "median":
        return pruners.MedianPruner(n_startup_trials=s.startup_trials, n_warmup_steps=1)
    if s.pruner == "successive_halving":
        return pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return pruners.NopPruner()


def open_study(spec: Spec, worker: int = 0) -> optuna.Study:
    """Create the study, or load it if this spec ran before (resume)."""
    quiet_optuna()
    storage = make_storage(spec)
    # Re-seed by progress so a resumed study does not replay its first trials' params,
    # and per worker so parallel workers do not sample the same ones.
    seed = spec.study.seed + _trial_count(storage, spec.study.name) + 7919 * worker
    if isinstance(storage, optuna.storages.RDBStorage):
        seed += zlib.crc32(f"{heartbeat.HOST}:{os.getpid()}".encode())  # processes on several machines
    try:
        study = optuna.create_study(
            study_name=spec.study.name,
            storage=storage,
            sampler=make_sampler(spec, seed % 2**32),
            pruner=make_pruner(spec),
            direction=spec.study.direction,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise CnnsearchError(f"study '{spec.study.name}': {exc}") from None
    if SPEC_ATTR not in study.user_attrs:
        study.set_user_attr(SPEC_ATTR, spec_to_dict(spec))
    return study


def enqueue_initial_params(study: optuna.Study, spec: Spec) -> None:
    """Queue ``[study] initial_params`` as the first trial, once per study (call under the study lock)."""
    if spec.study.initial_params and not study.user_attrs.get(INITIAL_ATTR) and not study.get_trials(deepcopy=False):
        study.enqueue_trial(dict(spec.study.initial_params), user_attrs={INITIAL_ATTR: True})
        study.set_user_attr(INITIAL_ATTR, True)


def load_study(spec: Spec) -> optuna.Study:
    """An existing study, for read-only commands; a clear error if it never ran."""
    quiet_optuna()
    storage = make_storage(spec)
    try:
        return optuna.load_study(study_name=spec.study.name, storage=storage)
    except KeyError:
        raise CnnsearchError(
            f"no study named '{spec.study.name}' yet: run `cnnsearch run` on this spec first"
        ) from None


def _trial_count(storage: optuna.storages.BaseStorage, name: str) -> int:
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(storage.get_all_trials(study_id, deepcopy=False))


def count_states(study: optuna.Study) -> dict[str, int]:
    """Trials per state name (COMPLETE, PRUNED, FAIL, RUNNING, ...)."""
    return dict(Counter(t.state.name for t in study.get_trials(deepcopy=False)))


def finished_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None when none completed."""
    try:
        return study.best_trial
    except ValueError:
        return None


class StudyDisplay(Protocol):
    """Receives study progress: the console implements it; None runs silently."""

    def study_opened(self, study: optuna.Study) -> None: ...
    def trial_started(self, number: int, params: dict[str, Any]) -> None: ...
    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None: ...
    def trial_finished(self, study: optuna.Study, trial: FrozenTrial) -> None: ...


def run(
    spec: Spec,
    spec_path: Path | None = None,
    display: StudyDisplay | None = None,
) -> optuna.Study:
    """Run (or resume) the study until ``n_trials`` trials are complete or pruned.

    The data is loaded and the study opened before any training, so a bad dataset
    or storage fails fast. Ctrl-C propagates as KeyboardInterrupt after the running
    trial and the MLflow runs have been closed; running again resumes.
    """
    from cnnsearch import backbones, data, imbalance, worker
    from cnnsearch.locks import study_lock
    from cnnsearch.artifacts import StudyArtifacts
    from cnnsearch.objective import Objective
    from cnnsearch.tracking import Tracker

    splits = data.load(spec.data, seed=spec.study.seed)
    backbones.check_spec(spec)  # ImageNet weights cached or downloadable: else one line now, not per trial
    imbalance.check_spec(spec, splits.class_names)
    study = open_study(spec)
    tracker = Tracker(spec)
    spec_files = {"resolved.toml": spec_to_toml(spec)}
    if spec_path is not None:
        spec_files[spec_path.name] = spec_path.read_text(encoding="utf-8")
    with study_lock(spec):  # several workers or machines may start at once: one parent run
        parent_run_id = tracker.open_study_run(study, spec_files)
        enqueue_initial_params(study, spec)
        heartbeat.fail_stale_trials(study, spec)  # left RUNNING by a crash: failed before the streak counts
    if display is not None:
        display.study_opened(study)
    objective = Objective(spec, splits, tracker, parent_run_id, display)
    plots = StudyArtifacts(tracker, spec, parent_run_id)  # parent-run plots and trials CSV

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        best = best_trial(study)
        tracker.log_study_progress(parent_run_id, trial.number, best.value if best else None, count_states(study))
        if display is not None:
            display.trial_finished(study, trial)
        plots.trial_finished(study)  # redraws when RefreshPolicy says it is due

    deadline = time.monotonic() + spec.study.timeout if spec.study.timeout else None
    status, since = "KILLED", time.time()
    try:
        # One trial at a time, counted under the study lock: exact n_trials with other workers.
        if worker.run_trials(study, objective, spec, since, after_trial, deadline=deadline) == worker.STOPPED:
            status = "FAILED"
            raise CnnsearchError(worker.stop_message(spec, worker.failure_streak(study, since)[1]))
        status = "FINISHED"
    finally:
        if status != "KILLED":  # after Ctrl-C, stop now; the next run redraws
            plots.finish(study)
        heartbeat.close_orphan_runs(study, spec)  # a run Ctrl-C caught before its trial's own cleanup
        tracker.close_study_run(parent_run_id, status)
    return study
