"""The building blocks of a spec: constants, ranges and choices, and strict sections.

Every tunable field takes a constant, a range (``{low, high, step?, log?}``) or
``{choices = [...]}``; :func:`tunable_values` lists what one can take, for bounds checks.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

T = TypeVar("T")


class _Strict(BaseModel):
    """No unknown keys, no type coercion (TOML already has types), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IntRange(_Strict):
    """An integer range for ``trial.suggest_int``."""

    low: int = Field(description="the smallest value")
    high: int = Field(description="the largest value (inclusive)")
    step: int = Field(1, gt=0, description="spacing between values")
    log: bool = Field(False, description="sample on a log scale (needs low > 0 and step = 1)")

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("a log range cannot have a step (Optuna allows step = 1 only)")
        return self


class FloatRange(_Strict):
    """A float range for ``trial.suggest_float``."""

    low: float = Field(description="the smallest value")
    high: float = Field(description="the largest value (inclusive)")
    step: float | None = Field(None, gt=0, description="spacing between values; default: continuous")
    log: bool = Field(False, description="sample on a log scale (needs low > 0 and no step)")

    @model_validator(mode="after")
    def _check(self) -> FloatRange:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step is not None:
            raise ValueError("a log range cannot have a step")
        return self


class Choices(_Strict, Generic[T]):
    """A categorical choice for ``trial.suggest_categorical``."""

    choices: list[T] = Field(min_length=1, description="the values to choose from")


def _check_range(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"low ({low}) is greater than high ({high})")
    if log and low <= 0:
        raise ValueError(f"a log range needs low > 0, got low = {low}")


def _tunable_kind(value: Any) -> str:
    """Which form a tunable value takes: a table with choices, a range table, or a constant."""
    if isinstance(value, Choices):
        return "choices"
    if isinstance(value, (IntRange, FloatRange)):
        return "range"
    if isinstance(value, dict):
        return "choices" if "choices" in value else "range"
    return "constant"


def _tunable(constant: Any, range_type: Any | None) -> Any:
    """Build the annotated union for one tunable field type."""
    members = [Annotated[constant, Tag("constant")], Annotated[Choices[constant], Tag("choices")]]
    if range_type is not None:
        members.append(Annotated[range_type, Tag("range")])
    return Annotated[Union[tuple(members)], Discriminator(_tunable_kind)]


IntParam = _tunable(int, IntRange)
FloatParam = _tunable(float, FloatRange)
BoolParam = _tunable(bool, None)
Optimizer = Literal["adam", "adamw", "sgd", "rmsprop"]
Head = Literal["global_average", "flatten"]
Flip = Literal["none", "horizontal", "vertical", "horizontal_and_vertical"]
OptimizerParam = _tunable(Optimizer, None)
HeadParam = _tunable(Head, None)
FlipParam = _tunable(Flip, None)
Architecture = Literal["plain", "residual", "mobilenet_v2", "resnet50", "efficientnet_b0"]
#: Keras Applications backbones (``[model.backbone]`` configures them).
BACKBONES = ("mobilenet_v2", "resnet50", "efficientnet_b0")
ArchitectureParam = _tunable(Architecture, None)


def _check_freeze(value: str | int) -> str | int:
    if value in ("all", "none") or (isinstance(value, int) and value >= 0):
        return value
    raise ValueError(f"expected 'all', 'none' or a number of top layers to train (>= 0), got {value!r}")


#: ``"all"`` backbone layers frozen, ``"none"``, or how many top layers train.
Freeze = Annotated[Union[str, int], AfterValidator(_check_freeze)]
FreezeParam = _tunable(Freeze, None)
Schedule = Literal["constant", "cosine", "warmup_cosine", "one_cycle"]
ScheduleParam = _tunable(Schedule, None)
Sampling = Literal["none", "oversample", "undersample"]
SamplingParam = _tunable(Sampling, None)
ClassWeightName = Literal["none", "balanced"]


#: A class weight multiplies that class's loss; beyond this it only overflows the loss.
MAX_CLASS_WEIGHT = 1e6


def _class_weight_kind(value: Any) -> str:
    if isinstance(value, Choices) or (isinstance(value, dict) and "choices" in value):
        return "choices"
    return "explicit" if isinstance(value, dict) else "constant"


#: ``"none"``, ``"balanced"`` (searchable as choices), or a table of class name (or index) -> weight.
ClassWeightParam = Annotated[
    Union[
        Annotated[ClassWeightName, Tag("constant")],
        Annotated[Choices[ClassWeightName], Tag("choices")],
        Annotated[dict[str, Annotated[float, Field(ge=0, le=MAX_CLASS_WEIGHT)]], Tag("explicit")],
    ],
    Discriminator(_class_weight_kind),
]


def tunable_values(value: Any) -> list[Any]:
    """Every endpoint or choice a tunable can take, for bounds checks."""
    if isinstance(value, Choices):
        return list(value.choices)
    if isinstance(value, (IntRange, FloatRange)):
        return [value.low, value.high]
    return [value]


class _Section(_Strict):
    """A spec section whose tunable fields may declare inclusive bounds."""

    _bounds: dict[str, tuple[float, float]] = {}

    @model_validator(mode="after")
    def _check_bounds(self) -> _Section:
        for name, (low, high) in self._bounds.items():
            for value in tunable_values(getattr(self, name)):
                if not low <= value <= high:
                    raise ValueError(f"{name}: {value} is outside the allowed [{low}, {high}]")
        return self


# --- durations ---------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d{1,9})h)?\s*(?:(\d{1,9})m)?\s*(?:(\d{1,9})s)?")
#: A study's timeout is at most a year: longer means "no limit", which is leaving timeout out.
MAX_TIMEOUT_S = 365 * 24 * 3600


def parse_duration(value: int | str) -> int:
    """Seconds from ``3600``, ``"2h"``, ``"90m"``, ``"1h30m"`` or ``"45s"``: more than 0, at most a year.

    ``"0s"`` is refused like ``0``: a zero timeout would silently mean no limit at all.
    """
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.fullmatch(value.strip())
        if not value.strip() or match is None or not any(match.groups()):
            raise ValueError(f"expected a duration such as '2h', '90m', '1h30m' or '45s', got {value[:80]!r}")
        hours, minutes, secs = (int(g or 0) for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise ValueError(
            f"expected a duration from 1 second to 365 days ({MAX_TIMEOUT_S} s), got {value!r}; "
            "leave timeout out for no limit"
        )
    return seconds


def flat_fields(section: BaseModel) -> list[tuple[str, Any]]:
    """A section's fields with sub-tables flattened: ``[model.residual] width`` -> ``residual_width``."""
    fields: list[tuple[str, Any]] = []
    for name, value in section:
        if isinstance(value, _Section):
            fields.extend((f"{name}_{sub}", subvalue) for sub, subvalue in flat_fields(value))
        else:
            fields.append((name, value))
    return fields
