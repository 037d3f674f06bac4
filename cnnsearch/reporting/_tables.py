"""Read a study back as tables: the trials list and the best trial (no Keras needed)."""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from cnnsearch._keys import (
    DIAGNOSIS_ATTR,
    EPOCHS_RUN_ATTR,
    INFEASIBLE_ATTR,
    PRUNED_EPOCH_ATTR,
    REASON_ATTR,
    RUN_ID_ATTR,
    TRACKING_ATTR,
)
from cnnsearch.errors import CnnsearchError
from cnnsearch.search import best_trial, front, pick_trial, score, trial_costs
from cnnsearch.spec import Spec

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
SORT_KEYS = ("value", "number", "duration_s")


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as a flat record: outcome, timing, where it stopped, its MLflow run, its costs and params.

    ``value`` is the score (a multi-objective trial's first objective); ``costs.<name>`` the costs it
    measured before training, ``infeasible`` the hard limits it broke (it never trained).
    """
    attrs = trial.user_attrs
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": score(trial),
        "duration_s": round(trial.duration.total_seconds(), 2) if trial.duration else None,
        "epochs_run": attrs.get(EPOCHS_RUN_ATTR),
        "pruned_epoch": attrs.get(PRUNED_EPOCH_ATTR),
        "diagnosis": attrs.get(DIAGNOSIS_ATTR),
        "fail_reason": attrs.get(REASON_ATTR),
        "tracking_s": attrs.get(TRACKING_ATTR),
        "mlflow_run_id": attrs.get(RUN_ID_ATTR),
        **({"infeasible": attrs[INFEASIBLE_ATTR]} if INFEASIBLE_ATTR in attrs else {}),
        **{f"costs.{name}": value for name, value in trial_costs(trial).items()},
        **{f"params.{name}": value for name, value in trial.params.items()},
    }


def trials_frame(
    study: optuna.Study,
    spec: Spec,
    states: list[str] | None = None,
    sort: str = "number",
    top: int | None = None,
    front_only: bool = False,
) -> pd.DataFrame:
    """The study's trials, filtered by state (and to the front), sorted (best first for ``value``), cut to ``top``."""
    if sort not in SORT_KEYS:
        raise CnnsearchError(f"--sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
    wanted = {s.upper() for s in states or []}
    unknown = wanted - set(STATES)
    if unknown:
        raise CnnsearchError(f"--state: expected one of {', '.join(STATES)}, got {', '.join(sorted(unknown))}")
    on_front = {t.number for t in front(study)} if front_only else None
    rows = [
        trial_row(t)
        for t in study.get_trials(deepcopy=False)
        if (not wanted or t.state.name in wanted) and (on_front is None or t.number in on_front)
    ]
    frame = pd.DataFrame(rows, columns=list(trial_row_columns(rows)))
    for column in ("number", "epochs_run", "pruned_epoch", *_int_params(rows)):
        frame[column] = frame[column].astype("Int64")  # integers, with gaps where unknown (not 3.0 in JSON/CSV)
    if sort == "value":
        frame = frame.sort_values("value", ascending=spec.study.direction == "minimize", na_position="last")
    else:
        frame = frame.sort_values(sort, na_position="last")
    return frame.head(top) if top else frame.reset_index(drop=True)


def _int_params(rows: list[dict[str, Any]]) -> list[str]:
    """Param columns whose every known value is an integer (a conditional param is missing elsewhere)."""
    kinds: dict[str, set[type]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith("params.") and value is not None:
                kinds.setdefault(key, set()).add(type(value))
    return [key for key, types in kinds.items() if types == {int}]


def trial_row_columns(rows: list[dict[str, Any]]) -> dict[str, None]:
    """Column order: the fixed fields, then the costs, then every param seen in any trial."""
    columns: dict[str, None] = dict.fromkeys(
        [
            "number",
            "state",
            "value",
            "duration_s",
            "epochs_run",
            "pruned_epoch",
            "diagnosis",
            "fail_reason",
            "tracking_s",
            "mlflow_run_id",
        ]
    )
    for row in rows:  # a note (infeasible) and costs before the params
        columns.update(dict.fromkeys(k for k in row if not k.startswith("params.")))
    for row in rows:
        columns.update(dict.fromkeys(row))
    return columns


def best_record(study: optuna.Study, spec: Spec, pick: str | None = None) -> dict[str, Any]:
    """The best complete trial (or the one ``pick`` chooses, ``--pick``): number, value, costs, params, MLflow run."""
    best = pick_trial(study, spec, pick).trial if pick else best_trial(study)
    if best is None:
        raise CnnsearchError(f"study '{study.study_name}' has no complete trial yet")
    return {
        "study": study.study_name,
        "metric": spec.study.metric,
        "direction": spec.study.direction,
        "number": best.number,
        "value": score(best),
        **({"costs": trial_costs(best)} if trial_costs(best) else {}),
        "params": dict(best.params),
        "mlflow_run_id": best.user_attrs.get(RUN_ID_ATTR),
        "epochs_run": best.user_attrs.get(EPOCHS_RUN_ATTR),
    }


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as plain Python values for ``json.dumps``: floats exact (pandas' ``to_json``
    rounds to 15 significant digits: 0.10000000149011612 became 0.100000001490116), integer
    columns as ints, missing cells as None (never NaN, which is not JSON)."""
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if missing(value):
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalars -> int, float, bool


def fmt(value: Any) -> str:
    """A table cell: floats to 4 significant digits, missing values empty."""
    if missing(value):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def missing(value: Any) -> bool:
    """None, NaN or pandas' NA: an empty cell."""
    return value is None or bool(pd.isna(value))
