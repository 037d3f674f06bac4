"""The ``[study]`` section: how Optuna searches (objective, budget, sampler, pruner, storage)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from cnnsearch.spec._limits import path_kind
from cnnsearch.spec._objectives import COSTS, ObjectiveSpec, fill_metric, study_problem
from cnnsearch.spec._types import _Strict, parse_duration

Sampler = Literal["tpe", "random", "gp", "cmaes", "qmc", "grid"]
Pruner = Literal["hyperband", "median", "successive_halving", "wilcoxon", "none"]
#: Seeds go to NumPy and scikit-learn, which take 0 .. 2**32-1.
MAX_SEED = 2**32 - 1


class StudySpec(_Strict):
    """How Optuna searches: objective, budget, sampler, pruner, storage."""

    name: str = Field("", description="defaults to the spec file's stem")
    metric: str = Field(
        "val_accuracy",
        description="the Keras history key the search scores: training logs val_accuracy, val_balanced_accuracy, "
        'val_macro_f1, val_loss, accuracy and loss (a hypermodel may log more); "auto": val_balanced_accuracy '
        "when the training split's largest class has 1.5x the images of its smallest or more, else val_accuracy",
    )
    direction: Literal["maximize", "minimize"] = Field("maximize", description="whether a higher metric is better")
    n_trials: int = Field(
        20, gt=0, description="complete + pruned trials for the whole study, across restarts and workers"
    )
    timeout: int | None = Field(
        None,
        description='seconds, or a duration such as "2h", "90m", "1h30m", "45s"; 1 s to 365 days; leave it out for no limit',
    )
    sampler: Sampler = Field(
        "tpe", description="Optuna sampler: gp needs PyTorch, cmaes the cmaes package, grid choices or stepped ranges"
    )
    pruner: Pruner = Field("hyperband", description="Optuna pruner, judged epoch by epoch; wilcoxon needs folds >= 2")
    seed: int = Field(42, description="0 .. 2**32-1 (NumPy's and scikit-learn's seeds)")
    startup_trials: int = Field(5, ge=0, description="random trials before TPE/GP, and unpruned trials for median")
    max_consecutive_failures: int = Field(5, gt=0, description="stop the study after this many failed trials in a row")
    storage: str | None = Field(
        None,
        description="the Optuna storage: a *.journal file (relative to the spec) or a database URL such as "
        "postgresql://user@host/db; default: a journal under mlruns/studies/",
    )
    trials_per_worker: int | None = Field(None, gt=0, description="recycle a worker process after this many trials")
    keep_top_k: int = Field(3, ge=0, description="keep weights of the k best trials only; 0 keeps none")
    folds: int = Field(
        1,
        ge=1,
        le=10,
        description="1: one validation split; k >= 2: k-fold cross-validation over train + validation, "
        "the trial's value is the mean over its folds",
    )
    initial_params: dict[str, Union[bool, int, float, str]] = Field(
        default_factory=dict, description="the first trial's params (a known-good start); the sampler fills the rest"
    )
    initial_neighbours: int = Field(0, ge=0, le=50, description="start-up trials: initial_params, one param moved")
    neighbour_params: list[str] = Field(
        default_factory=list, description="the params they move (default: all but architecture)"
    )
    final_share: float = Field(
        0.0,
        ge=0.0,
        le=0.9,
        description="with study.timeout: the last share of it trains the best params once more, until the "
        "deadline, its learning rate decaying over the time left (0: off)",
    )
    # "seeds" measured better than "stop" with 2 workers on 2 CPU cores (CIFAR-10 subset, docs/benchmarks.md).
    final_others: Literal["stop", "seeds"] = Field(
        "seeds",
        description="with final_share (ignored without) and several workers: what the workers not running "
        'the final training do; "seeds" trains the same params with another seed each until the deadline (at most '
        'export.ensemble_size - 1 of them), shipped with it as one ensemble; "stop" leaves the machine to it',
    )
    objectives: list[ObjectiveSpec] = Field(
        default_factory=list, description=f"the metric trained for, then costs ({', '.join(COSTS)})"
    )
    # Hard limits on the costs (docs/multi-objective.md): a network over one is never trained.
    max_params: int | None = Field(
        None, gt=0, description="hard limit on the network's weights: a network over it is never trained"
    )
    max_flops: float | None = Field(None, gt=0, description="floating-point operations for one image")
    max_size_mb: float | None = Field(None, gt=0, description="the network's .keras file, MB (1e6 bytes)")
    max_latency_ms: float | None = Field(None, gt=0, description="median batch-1 inference on this machine")

    @model_validator(mode="before")
    @classmethod
    def _objectives_metric(cls, data: Any) -> Any:
        return fill_metric(data)

    @model_validator(mode="after")
    def _check_objectives(self) -> StudySpec:
        problem = study_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @field_validator("timeout", mode="before")
    @classmethod
    def _parse_timeout(cls, value: Any) -> Any:
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            return parse_duration(value)
        return value  # None, or a wrong type for strict validation to report

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        if self.pruner == "wilcoxon" and self.folds < 2:
            raise ValueError("pruner: 'wilcoxon' compares trials fold by fold; it needs study.folds >= 2")
        if self.initial_neighbours and not self.initial_params:
            raise ValueError("initial_neighbours: neighbours change the initial params; set study.initial_params too")
        unknown = [name for name in self.neighbour_params if name not in self.initial_params]
        if unknown:
            raise ValueError(f"neighbour_params: {unknown[0]!r} is not among study.initial_params")
        if self.final_share and not self.timeout:
            raise ValueError("final_share: the final training's epochs come from study.timeout; set a timeout too")
        if self.final_share and self.folds > 1:
            raise ValueError("final_share: the final training uses one validation split; set study.folds = 1")
        return self

    @field_validator("seed")
    @classmethod
    def _seed_in_range(cls, value: int) -> int:
        if not 0 <= value <= MAX_SEED:
            raise ValueError(f"expected an integer from 0 to {MAX_SEED}, got {value}")
        return value

    @field_validator("storage")
    @classmethod
    def _storage_named(cls, value: str | None) -> str | None:
        """A journal path or a database URL; anything else would fail only when the study opens."""
        if value is None or re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", value):
            return value
        if value.endswith(".journal") and Path(value).name != ".journal":
            path_kind(value)  # a NUL, a name too long, a loop: refused here, not when the study opens
            return value
        raise ValueError(
            "expected a *.journal file or a database URL such as 'sqlite:///optuna.db' or "
            f"'postgresql://host/db', got {value[:80]!r}"
        )

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        control = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
        if control is not None:
            raise ValueError(f"contains the control character {control!r}; expected printable text")
        return value

    @field_validator("metric")
    @classmethod
    def _metric_named(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"expected a Keras history key such as 'val_accuracy', got {value!r}")
        return value
