"""The card's ``objectives``: every objective measured again on the model shipped, not taken from the search.

Test accuracy on the held-out split; latency (``predict_on_batch`` on one image, median
after warm-up) on this machine, with the device named; the size of the exported
``model.keras``; weights and FLOPs of the exported network. Beside each, the value the
trial had in the search, so a reader sees what changed (latency is timing: expect some
noise between two measurements on a shared machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnsearch.spec import Spec, limits

if TYPE_CHECKING:  # the card renders without Keras: only measuring needs it
    import keras

    from cnnsearch.search import Pick


def measured_objectives(
    spec: Spec, trial: Any, twin: keras.Model, figures: dict[str, Any], staging: Path, chosen: Pick | None
) -> dict[str, Any]:
    """The card's ``objectives`` section (see the module)."""
    import keras

    from cnnsearch.search import score, trial_costs
    from cnnsearch.training import (
        MIN_REPEATS,
        ROUNDS,
        WARMUP_CALLS,
        count_flops,
        device_name,
        keras_file_mb,
        latency_ms,
    )

    keras_file = staging / "model.keras"
    size = keras_file.stat().st_size / 1e6 if keras_file.is_file() else keras_file_mb(twin)
    exported = {
        "test_accuracy": float(figures["accuracy"]),
        "latency_ms": round(latency_ms(twin), 4),
        "size_mb": round(size, 6),
        "params": int(twin.count_params()),
        "flops": int(count_flops(twin)),
    }
    search = {"value": score(trial), **trial_costs(trial)}
    rows = [
        {
            "metric": objective.metric,
            "direction": objective.direction,
            "search": search.get("value" if i == 0 else objective.metric),
            "exported": exported["test_accuracy" if i == 0 else objective.metric],
            "exported_as": "test accuracy" if i == 0 else objective.metric,
        }
        for i, objective in enumerate(spec.study.objectives)
    ]
    bounds = limits(spec.study)
    return {
        "measured_on": "the exported model (uint8 input), on this machine",
        "device": device_name(),
        "backend": keras.backend.backend(),
        "latency_rule": (
            f"median wall time of model.predict_on_batch on one image, after {WARMUP_CALLS} warm-up calls, "
            f"in {ROUNDS} rounds of at least {MIN_REPEATS} calls: the lowest round median"
        ),
        "size_file": "model.keras" if keras_file.is_file() else "model.keras (saved to measure; not exported)",
        "exported": exported,
        "search": search,
        "objectives": rows,
        "limits": bounds,
        "within_limits": all(exported[cost] <= limit for cost, limit in bounds.items()),
        "pick": chosen.rule if chosen else None,
        "on_front": chosen.on_front if chosen else None,
        "note": chosen.note if chosen else "",
    }


def objectives_line(objectives: dict[str, Any]) -> str:
    """One console line: what the exported model measured, and where."""
    e = objectives["exported"]
    return (
        f"Measured on the exported model: test accuracy {e['test_accuracy']:.4f}, latency {e['latency_ms']:.3g} ms "
        f"({objectives['device']}), {e['size_mb']:.3g} MB, {e['params']:,} weights, {e['flops'] / 1e6:.3g}M FLOPs"
    )


def objectives_markdown(card: dict[str, Any]) -> list[str]:
    """The card's section for people (empty when the export measured no objectives)."""
    objectives = card.get("objectives")
    if not objectives:
        return []
    e, s = objectives["exported"], objectives["search"]
    lines = [
        "## Objectives, measured on the exported model",
        "",
        f"- Device: {objectives['device']} (Keras backend `{objectives['backend']}`).",
        f"- Latency: {objectives['latency_rule']}.",
        *([f"- Picked: {objectives['pick']}."] if objectives.get("pick") else []),
        *([f"- Note: {objectives['note']}."] if objectives.get("note") else []),
        "",
        "| objective | exported model | in the search |",
        "|---|---|---|",
        f"| accuracy | {e['test_accuracy']:.4f} (test) | {_shown(s.get('value'))} ({card['search']['metric']}) |",
        f"| latency_ms | {e['latency_ms']:.4g} | {_shown(s.get('latency_ms'))} |",
        f"| size_mb | {e['size_mb']:.4g} ({objectives['size_file']}) | {_shown(s.get('size_mb'))} |",
        f"| params | {e['params']:,} | {_shown(s.get('params'))} |",
        f"| flops | {e['flops']:,} | {_shown(s.get('flops'))} |",
        "",
    ]
    if objectives["limits"]:
        bounds = ", ".join(f"max_{k} = {v:g}" for k, v in objectives["limits"].items())
        verdict = "within them" if objectives["within_limits"] else "NOT within them, as measured here"
        lines += [f"Hard limits: {bounds}; the exported model is {verdict}.", ""]
    return lines


def _shown(value: Any) -> str:
    if value is None:
        return "not measured"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
