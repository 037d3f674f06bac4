"""Weights of the top-k trials only, so disk use stays bounded over long studies.

A complete trial that ranks among the study's ``keep_top_k`` best saves its
(best-epoch) weights to ``mlruns/weights/<study>/trial-<n>.weights.h5`` (with
``study.folds = k``, folds 1..k-1 beside it as ``trial-<n>.fold-<i>.weights.h5``); files of
trials that fall out of the top-k are deleted. In a multi-objective study the kept trials are
those on the front instead (every trial ``best --pick`` can ship), however many. Pruned and failed trials never
save weights (their curves stay in MLflow). Several workers may prune at once:
a file of a still RUNNING trial is never touched by another worker, and a
deletion that loses a race is harmless.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from cnnsearch._paths import HOME
from cnnsearch._paths import weights_dir as study_weights_dir
from cnnsearch.search._multi_objective import front_numbers
from cnnsearch.search._states import score
from cnnsearch.spec import Spec

_FILE = re.compile(r"trial-(\d+)\.weights\.h5")


def weights_dir(spec: Spec, home: Path = HOME) -> Path:
    return study_weights_dir(spec.study.name, home)


def weights_file(spec: Spec, number: int, home: Path = HOME) -> Path:
    """Where trial ``number``'s weights are (or would be) kept."""
    return weights_dir(spec, home) / f"trial-{number}.weights.h5"


def fold_file(spec: Spec, number: int, fold: int, home: Path = HOME) -> Path:
    """Fold ``fold``'s weights of trial ``number`` (fold 0 is the trial's own weights file)."""
    if fold == 0:
        return weights_file(spec, number, home)
    return weights_dir(spec, home) / f"trial-{number}.fold-{fold}.weights.h5"


def fold_files(spec: Spec, number: int, home: Path = HOME) -> list[Path]:
    """Every kept fold's weights of trial ``number``, fold 0 first (one file without folds)."""
    files = []
    for fold in range(max(spec.study.folds, 1)):
        path = fold_file(spec, number, fold, home)
        if not path.is_file():
            break
        files.append(path)
    return files


def kept(spec: Spec, home: Path = HOME) -> dict[int, Path]:
    """Trial number -> weights file, for the files on disk now."""
    folder = weights_dir(spec, home)
    found = {}
    for path in folder.glob("trial-*.weights.h5") if folder.is_dir() else ():
        match = _FILE.fullmatch(path.name)
        if match:
            found[int(match.group(1))] = path
    return found


def top_k(study: optuna.Study, spec: Spec, candidate: tuple[int, float | Sequence[float]] | None = None) -> list[int]:
    """Numbers of the best ``keep_top_k`` complete trials (the front's, with objectives), counting a just-trained candidate."""
    if spec.study.objectives:
        if candidate is not None and not isinstance(candidate[1], Sequence):
            raise TypeError("a multi-objective candidate needs its objective values")
        return front_numbers(study, candidate) if spec.study.keep_top_k > 0 else []  # type: ignore[arg-type]
    scored = {t.number: score(t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if candidate is not None:
        scored[candidate[0]] = float(candidate[1])  # type: ignore[arg-type]
    sign = -1.0 if spec.study.direction == "maximize" else 1.0
    ranked = sorted((sign * v, n) for n, v in scored.items() if v is not None)
    return [n for _, n in ranked[: spec.study.keep_top_k]]


def keep(spec: Spec, trial: optuna.Trial, models: Sequence[Any], value: float | Sequence[float]) -> Path | None:
    """Save this trial's weights (one model per fold) if it ranks in the top-k (or is on the front: ``value``
    is then its objective values), then drop files that fell out."""
    if spec.study.keep_top_k <= 0 or not models:
        return None
    best = top_k(trial.study, spec, (trial.number, value))
    path = None
    if trial.number in best:
        # Later folds first: fold 0's file, which marks the trial as kept, is written last.
        for fold in reversed(range(len(models))):
            path = fold_file(spec, trial.number, fold)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{os.getpid()}-{path.name}")  # Keras needs the .weights.h5 suffix
            models[fold].save_weights(str(partial))
            os.replace(partial, path)  # never a half-written file under the final name
    prune(trial.study, spec, best)
    return path


def prune(study: optuna.Study, spec: Spec, best: list[int] | None = None) -> list[int]:
    """Delete weights of finished trials outside the top-k; return the numbers removed."""
    best = top_k(study, spec) if best is None else best
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    removed = []
    for number, path in kept(spec).items():
        if number not in best and number not in running:
            for fold_path in reversed(fold_files(spec, number)):  # fold 0's file, the marker, goes last
                fold_path.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            removed.append(number)
    return removed
