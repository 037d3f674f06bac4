"""``[performance]``: training speed settings, the same for every trial (not searched)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from cnnsearch.spec._types import _Strict

#: Batches per compiled call; more than an epoch's steps gains nothing, and huge values overflow.
MAX_STEPS_PER_EXECUTION = 10_000


class PerformanceSpec(_Strict):
    """Training speed settings; ``"auto"`` picks per device kind what measured faster there.

    Not part of the search space: every trial trains with the same settings
    (``cnnsearch/training/_performance.py`` resolves them, ``docs/benchmarks.md`` has the figures).
    """

    mixed_precision: Literal["auto", True, False] = Field(
        "auto",
        description="mixed precision (float16 on GPU, bfloat16 on CPU; float32 weights); auto: off (not measured faster)",
    )
    jit_compile: Literal["auto", True, False] = Field(
        "auto", description="XLA compilation of the train step; auto: Keras's own choice per backend and device"
    )
    steps_per_execution: Literal["auto"] | int = Field(
        "auto",
        description=f"batches per compiled call, 1 to {MAX_STEPS_PER_EXECUTION}; auto: 8 on CPU, 1 on GPU and with PyTorch",
    )

    @field_validator("mixed_precision", "jit_compile", mode="before")
    @classmethod
    def _auto_or_bool(cls, value: Any) -> Any:
        if value != "auto" and not isinstance(value, bool):
            raise ValueError(f'expected "auto", true or false, got {value!r}')
        return value

    @field_validator("steps_per_execution", mode="before")
    @classmethod
    def _auto_or_steps(cls, value: Any) -> Any:
        if value != "auto" and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STEPS_PER_EXECUTION
        ):
            raise ValueError(f'expected "auto" or an integer from 1 to {MAX_STEPS_PER_EXECUTION}, got {value!r}')
        return value
