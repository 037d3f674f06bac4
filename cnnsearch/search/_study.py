"""Create or resume the Optuna study a spec describes: storage, sampler, pruner.

``n_trials`` counts the whole study (complete + pruned trials, across restarts):
opening the same spec again resumes where it stopped instead of starting over.
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zlib
from pathlib import Path

import optuna

from cnnsearch._keys import INITIAL_ATTR, NEIGHBOUR_ATTR, SPEC_SHA_ATTR
from cnnsearch._paths import study_journal
from cnnsearch.errors import CnnsearchError, SpecError, first_line
from cnnsearch.search import _heartbeat as heartbeat
from cnnsearch.search import _journal as journal
from cnnsearch.search._locks import journal_path, sqlalchemy_url, study_lock
from cnnsearch.search._neighbours import neighbours
from cnnsearch.search._protocols import StudyTracking
from cnnsearch.spec import Spec, grid, spec_to_toml


def quiet_optuna() -> None:
    """Optuna's per-trial INFO lines and experimental warnings would drown our own display."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def make_storage(spec: Spec, tracking: StudyTracking | None = None, writer: bool = True) -> optuna.storages.BaseStorage:
    """A journal file under mlruns/ by default (safe for several processes on one machine),
    a ``*.journal`` path, or any RDB URL (PostgreSQL for workers on several machines).

    A journal is checked first (``_journal.py``): a torn last record is moved aside, a
    corrupt one is an error. ``writer=False`` (read-only commands) never waits for a
    writer's lock to repair. ``tracking`` closes the runs of trials Optuna's RDB heartbeat finds dead.
    """
    from optuna.storages import JournalStorage, RDBStorage

    url = spec.study.storage
    if url is None or url.endswith(".journal"):
        path = Path(url) if url else study_journal(spec.study.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # An absolute path: Optuna's journal lock is a symlink to it, and a relative target dangles
        # (it resolves from the link's folder). Then a lock left by a killed worker is never seen as
        # stale: Optuna's stat of the dangling link fails and its wait loop spins at 100% CPU forever.
        absolute = path.resolve()
        journal.check_journal(absolute, wait=writer)
        return JournalStorage(journal.SafeJournalBackend(str(absolute)))
    try:
        with study_lock(spec):  # machines starting together on an empty database create its tables once
            return RDBStorage(
                sqlalchemy_url(url),
                heartbeat_interval=heartbeat.INTERVAL_S,
                grace_period=heartbeat.GRACE_S,
                heartbeat_stale_trial_callback=heartbeat.StaleTrialHandler(spec, tracking),
            )
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds
        raise CnnsearchError(f"study.storage: cannot open '{url}': {first_line(exc)}") from None


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
        return samplers.GridSampler(grid(spec), seed=seed)
    raise SpecError(f"study.sampler: unknown sampler {s.sampler!r}")


def _require(module: str, message: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SpecError(f"study.sampler: {message}")


def make_pruner(spec: Spec) -> optuna.pruners.BasePruner:
    """The study's pruner; none with objectives, where ``search._cost_pruning`` prunes instead (Optuna's raise there)."""
    s, epochs = spec.study, spec.train.epochs
    pruners = optuna.pruners
    if s.objectives:
        return pruners.NopPruner()
    if s.pruner == "hyperband":
        return pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if s.pruner == "median":
        return pruners.MedianPruner(n_startup_trials=s.startup_trials, n_warmup_steps=1)
    if s.pruner == "successive_halving":
        return pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if s.pruner == "wilcoxon":  # step = fold: a trial losing fold by fold to the best stops early
        return pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    return pruners.NopPruner()


def open_study(spec: Spec, worker: int = 0, tracking: StudyTracking | None = None) -> optuna.Study:
    """Create the study, or load it if this spec ran before (resume)."""
    quiet_optuna()
    storage = make_storage(spec, tracking)
    # Re-seed by progress so a resumed study does not replay its first trials' params,
    # and per worker so parallel workers do not sample the same ones.
    seed = spec.study.seed + _trial_count(storage, spec.study.name) + 7919 * worker
    if isinstance(storage, optuna.storages.RDBStorage):
        seed += zlib.crc32(f"{heartbeat.HOST}:{os.getpid()}".encode())  # processes on several machines
    objectives = spec.study.objectives
    directions = [o.direction for o in objectives] or [spec.study.direction]
    try:
        study = optuna.create_study(
            study_name=spec.study.name,
            storage=storage,
            sampler=make_sampler(spec, seed % 2**32),
            pruner=make_pruner(spec),
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise CnnsearchError(f"study '{spec.study.name}': {exc}") from None
    created = [d.name.lower() for d in study.directions]
    if len(created) != len(directions) or (objectives and created != directions):
        names = study.metric_names or ["?"] * len(created)
        raise CnnsearchError(
            f"study '{spec.study.name}' was made to {', '.join(f'{d} {m}' for d, m in zip(created, names))}; "
            f"this spec's objectives differ: give it another study.name"
        )
    if study.metric_names is None:  # optuna-dashboard's axes then read the metric, not "Objective 0"
        study.set_metric_names([o.metric for o in objectives] or [spec.study.metric])
    if SPEC_SHA_ATTR not in study.user_attrs:  # a short reference: the spec itself is the parent run's artifact
        study.set_user_attr(SPEC_SHA_ATTR, hashlib.sha256(spec_to_toml(spec).encode()).hexdigest())
    return study


def enqueue_initial_params(study: optuna.Study, spec: Spec) -> None:
    """Queue ``[study] initial_params`` as the first trial, and its neighbours after it, once per study.

    Call under the study lock.
    """
    if spec.study.initial_params and not study.user_attrs.get(INITIAL_ATTR) and not study.get_trials(deepcopy=False):
        study.enqueue_trial(dict(spec.study.initial_params), user_attrs={INITIAL_ATTR: True})
        for changed, params in neighbours(spec):
            study.enqueue_trial(params, user_attrs={NEIGHBOUR_ATTR: changed})
        study.set_user_attr(INITIAL_ATTR, True)


def load_study(spec: Spec) -> optuna.Study:
    """An existing study, for read-only commands; a clear error if it never ran.

    A journal or SQLite file that is not there is not created (nor its folders):
    ``trials`` in the wrong folder must leave no empty ``mlruns/`` behind.
    """
    quiet_optuna()
    url = spec.study.storage or ""
    local = journal_path(spec) or (Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None)
    if local is not None and not local.is_file():
        raise _no_study(spec)
    storage = make_storage(spec, writer=False)
    try:
        return optuna.load_study(study_name=spec.study.name, storage=storage)
    except KeyError:
        raise _no_study(spec) from None


def _no_study(spec: Spec) -> CnnsearchError:
    return CnnsearchError(f"no study named '{spec.study.name}' yet: run `cnnsearch run` on this spec first")


def _trial_count(storage: optuna.storages.BaseStorage, name: str) -> int:
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(storage.get_all_trials(study_id, deepcopy=False))
