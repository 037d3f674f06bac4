"""Start-up trials drawn around ``[study] initial_params``: each changes one of its params.

Why: on a small time budget the sampler's random start-up trials land far from a
known-good network and lose to it (0 of 3 CIFAR-10 seeds beat the first trial at stop 21),
so the search adds nothing of its own. A neighbour changes one param of the prior to an
adjacent value (the next choice, one range step, half or double a log-scale value, a quarter
of a linear range), so every start-up trial is a plausible rival and the sampler's model
starts from the region that matters. One param per neighbour keeps each trial's question
plain ("the first trial with learning_rate 0.006").
"""

from __future__ import annotations

import math
import random
from typing import Any

from cnnsearch.spec import Choices, FloatRange, IntRange, Spec, tunables


def neighbours(spec: Spec) -> list[tuple[str, dict[str, Any]]]:
    """``study.initial_neighbours`` (changed param, params) pairs around the initial params, seeded.

    The params varied are ``study.neighbour_params`` (default: every initial param the spec
    searches, but the architecture); they are taken in a seeded shuffled order, round-robin,
    so k neighbours change k different params while there are that many.
    """
    count = spec.study.initial_neighbours
    prior = dict(spec.study.initial_params)
    if not count or not prior:
        return []
    fields = {name: value for _, name, value in tunables(spec)}
    names = list(spec.study.neighbour_params) or [n for n in prior if n != "architecture"]
    movable = [n for n in names if n in prior and _has_neighbour(fields.get(n), prior[n])]
    rng = random.Random(spec.study.seed)
    rng.shuffle(movable)
    found: list[tuple[str, dict[str, Any]]] = []
    seen = {_key(prior)}
    for attempt in range(count * 20):
        if len(found) == count or not movable:
            break
        name = movable[attempt % len(movable)]
        params = {**prior, name: _step(fields[name], prior[name], rng)}
        if _key(params) not in seen:
            seen.add(_key(params))
            found.append((f"{name}={params[name]!r}", params))
    return found


def _key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _has_neighbour(field: Any, value: Any) -> bool:
    if isinstance(field, Choices):
        return len(field.choices) > 1
    if isinstance(field, (IntRange, FloatRange)):
        return field.high > field.low
    return False


def _step(field: Any, value: Any, rng: random.Random) -> Any:
    """An adjacent value of ``value`` within ``field``: ordered choices and ranges step up or down."""
    if isinstance(field, Choices):
        choices = list(field.choices)
        numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices)
        if not numeric:  # names and booleans have no order: any other choice
            return rng.choice([c for c in choices if c != value])
        ordered = sorted(choices)
        at = min(range(len(ordered)), key=lambda i: abs(ordered[i] - value))
        near = [ordered[i] for i in (at - 1, at + 1) if 0 <= i < len(ordered) and ordered[i] != value]
        return rng.choice(near) if near else rng.choice([c for c in choices if c != value])
    if isinstance(field, IntRange):
        steps = (value + field.step, value - field.step)
        # A log range halves or doubles; where neither fits (3 in [3, 4]), it takes one step.
        halves = (max(steps[0], value * 2), max(field.low, value // 2)) if field.log else steps
        for candidates in (halves, steps):
            options = [v for v in candidates if field.low <= v <= field.high and v != value]
            if options:
                return int(rng.choice(options))
        return value
    assert isinstance(field, FloatRange)
    if field.log:
        options = [value * 2.0, value / 2.0]
    else:
        quarter = (field.high - field.low) / 4
        options = [value + quarter, value - quarter]
    options = [_on_steps(field, min(field.high, max(field.low, v))) for v in options]
    options = [v for v in options if not math.isclose(v, value)]
    return rng.choice(options) if options else value


def _on_steps(field: FloatRange, value: float) -> float:
    if field.step is None:
        return float(value)
    steps = round((value - field.low) / field.step)
    return float(min(field.high, field.low + steps * field.step))
