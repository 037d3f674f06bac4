"""The ``best`` record for people: the lines ``cnnsearch best`` prints in its table format."""

from __future__ import annotations

from typing import Any

from cnnsearch.reporting._front import format_cost
from cnnsearch.reporting._tables import fmt


def best_record_lines(record: dict[str, Any], *, picked: bool = False) -> list[str]:
    """Study, trial and value, MLflow run, epochs, export, measured costs, then one line a param."""
    lines = [
        f"study       {record['study']}",
        f"{'picked' if picked else 'best trial':<11} {record['number']}  "
        f"({record['metric']} = {fmt(record['value'])}, {record['direction']})",
        f"mlflow run  {record['mlflow_run_id']}",
        f"epochs run  {record['epochs_run']}",
        f"exported    {_exported_line(record)}",
    ]
    if record.get("time_budget"):  # study.timeout: how much of it went to training
        lines.append(f"budget      {record['time_budget']['line'].removeprefix('time budget: ')}")
    if record.get("costs"):  # measured before training (objectives, hard limits)
        lines.append("costs       " + ", ".join(f"{k} {format_cost(k, v)}" for k, v in record["costs"].items()))
    lines += [f"  {name:<22} {fmt(value)}" for name, value in record["params"].items()]
    return lines


def _exported_line(record: dict[str, Any]) -> str:
    """Whether and where the best trial was exported, with its test accuracy."""
    done = record.get("exported")
    if done is None:
        return "no (cnnsearch best SPEC --export)"
    figures = f"test accuracy {done['test_accuracy']:.4f}"
    if done.get("test_lead") == "balanced_accuracy":  # skewed data: the balanced figures first
        figures = (
            f"test balanced accuracy {done['test_balanced_accuracy']:.4f}, macro F1 {done['test_macro_f1']:.4f}, "
            + figures.removeprefix("test ")
        )
    if not done["this_trial"]:
        return f"no: {done['directory']}/ holds trial {done['trial']} ({figures})"
    version = f", MLflow model '{done['registered_model']}' version {done['version']}" if done["version"] else ""
    return f"yes, {done['directory']}/ ({figures}{version})"
