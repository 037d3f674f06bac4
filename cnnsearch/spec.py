"""The search spec: a TOML file validated once, strictly, into frozen pydantic models.

Every tunable field takes a constant, a range (``{low, high, step?, log?}``) or
``{choices = [...]}``. Nothing is silently dropped: unknown keys are errors, and
every error becomes one line naming the file, the field and what was expected.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from cnnsearch.errors import SpecError

T = TypeVar("T")


class _Strict(BaseModel):
    """No unknown keys, no type coercion (TOML already has types), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IntRange(_Strict):
    """An integer range for ``trial.suggest_int``."""

    low: int
    high: int
    step: int = Field(1, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("a log range cannot have a step (Optuna allows step = 1 only)")
        return self


class FloatRange(_Strict):
    """A float range for ``trial.suggest_float``."""

    low: float
    high: float
    step: float | None = Field(None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> FloatRange:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step is not None:
            raise ValueError("a log range cannot have a step")
        return self


class Choices(_Strict, Generic[T]):
    """A categorical choice for ``trial.suggest_categorical``."""

    choices: list[T] = Field(min_length=1)


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


def _class_weight_kind(value: Any) -> str:
    if isinstance(value, Choices) or (isinstance(value, dict) and "choices" in value):
        return "choices"
    return "explicit" if isinstance(value, dict) else "constant"


#: ``"none"``, ``"balanced"`` (searchable as choices), or a table of class name (or index) -> weight.
ClassWeightParam = Annotated[
    Union[
        Annotated[ClassWeightName, Tag("constant")],
        Annotated[Choices[ClassWeightName], Tag("choices")],
        Annotated[dict[str, Annotated[float, Field(ge=0)]], Tag("explicit")],
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


Sampler = Literal["tpe", "random", "gp", "cmaes", "qmc", "grid"]
Pruner = Literal["hyperband", "median", "successive_halving", "none"]
Dataset = Literal["cifar10", "mnist", "fashion_mnist", "digits", "directory", "npz"]


class StudySpec(_Strict):
    """How Optuna searches: objective, budget, sampler, pruner, storage."""

    name: str = Field("", description="defaults to the spec file's stem")
    metric: str = "val_accuracy"
    direction: Literal["maximize", "minimize"] = "maximize"
    n_trials: int = Field(20, gt=0, description="total for the study, across restarts")
    timeout: int | str | None = None
    sampler: Sampler = "tpe"
    pruner: Pruner = "hyperband"
    seed: int = 42
    startup_trials: int = Field(5, ge=0, description="random trials before TPE/GP, and unpruned trials for median")
    max_consecutive_failures: int = Field(5, gt=0)
    storage: str | None = None
    trials_per_worker: int | None = Field(None, gt=0, description="recycle a worker process after this many trials")
    keep_top_k: int = Field(3, ge=0, description="keep weights of the k best trials only; 0 keeps none")
    initial_params: dict[str, Union[bool, int, float, str]] = Field(
        default_factory=dict, description="the first trial's params (a known-good start); the sampler fills the rest"
    )

    @field_validator("timeout")
    @classmethod
    def _parse_timeout(cls, value: int | str | None) -> int | None:
        return None if value is None else parse_duration(value)

    @field_validator("metric")
    @classmethod
    def _metric_named(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"expected a Keras history key such as 'val_accuracy', got {value!r}")
        return value


class DataSpec(_Strict):
    """Where the images come from and how they are split (test is never searched on)."""

    dataset: Dataset
    path: str | None = None
    validation_split: float = Field(0.1, gt=0, lt=1)
    test_split: float = Field(0.2, gt=0, lt=1, description="only for datasets without a test set")
    image_size: list[int] | None = Field(None, min_length=2, max_length=2)
    channels: Literal[1, 3] | None = None
    max_train_samples: int | None = Field(None, gt=0, description="stratified subsample, for quick runs")

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and min(value) < 1:
            raise ValueError(f"expected [height, width] of positive integers, got {value}")
        return value

    @model_validator(mode="after")
    def _check_path(self) -> DataSpec:
        if self.dataset in ("directory", "npz") and self.path is None:
            raise ValueError(f"path: dataset '{self.dataset}' needs a path")
        if self.path is not None:
            if self.dataset in ("mnist", "fashion_mnist", "digits"):
                raise ValueError(f"path: dataset '{self.dataset}' takes no path")
            path = Path(self.path)
            if not path.exists():
                raise ValueError(f"path: '{self.path}' does not exist")
            if self.dataset == "npz" and not path.is_file():
                raise ValueError(f"path: '{self.path}' is not an .npz file")
            if self.dataset in ("cifar10", "directory") and not path.is_dir():
                raise ValueError(f"path: '{self.path}' is not a folder")
        return self


class ResidualSpec(_Section):
    """ResNet-style network: stages of residual blocks, width doubling (and size halving) per stage."""

    stages: IntParam = IntRange(low=2, high=3)
    blocks_per_stage: IntParam = IntRange(low=1, high=2)
    width: IntParam = Choices[int](choices=[16, 32])
    dropout: FloatParam = FloatRange(low=0.0, high=0.3)
    dense_units: IntParam = 0

    _bounds = {
        "stages": (1, 6),
        "blocks_per_stage": (1, 8),
        "width": (1, 1024),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
    }


class BackboneSpec(_Section):
    """A Keras Applications backbone with a new head: weights, freezing, input size, fine-tuning."""

    weights: str = Field("none", description="'imagenet', 'none', or a .weights.h5/.h5 file for the backbone")
    freeze: FreezeParam = "all"
    image_size: IntParam = Field(0, description="resize inputs to this square size; 0: their own size, at least 32")
    alpha: FloatParam = Field(1.0, description="mobilenet_v2 width multiplier")
    dropout: FloatParam = 0.2
    dense_units: IntParam = 0
    fine_tune_epochs: int = Field(0, ge=0, description="after the head trains, unfreeze per freeze and train on")
    fine_tune_lr_factor: FloatParam = 0.1

    _bounds = {
        "image_size": (0, 1024),
        "alpha": (0.1, 2.0),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
        "fine_tune_lr_factor": (1e-6, 1.0),
    }

    @model_validator(mode="after")
    def _check_backbone(self) -> BackboneSpec:
        for size in tunable_values(self.image_size):
            if 0 < size < 32:
                raise ValueError(f"image_size: {size} is below 32, the smallest input Keras Applications take (0: automatic)")
        if self.weights not in ("imagenet", "none"):
            path = Path(self.weights)
            if not path.is_file():
                raise ValueError(f"weights: expected 'imagenet', 'none' or a weights file; '{self.weights}' does not exist")
            if not path.name.endswith(".h5"):
                raise ValueError(f"weights: '{self.weights}' is not a Keras weights file (.weights.h5 or .h5)")
        if self.weights == "imagenet":
            for alpha in tunable_values(self.alpha):
                if alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
                    raise ValueError(f"alpha: ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4, not {alpha}")
        return self


class ModelSpec(_Section):
    """The network's search space: which architecture, then that architecture's fields.

    The plain CNN's fields sit at the top of [model] (as before architectures existed);
    ``[model.residual]`` and ``[model.backbone]`` hold the others'.
    """

    architecture: ArchitectureParam = "plain"
    blocks: IntParam = IntRange(low=2, high=4)
    filters: IntParam = Choices[int](choices=[16, 32, 64])
    filter_growth: FloatParam = 2.0
    convs_per_block: IntParam = 1
    kernel_size: IntParam = Choices[int](choices=[3, 5])
    batch_norm: BoolParam = Choices[bool](choices=[True, False])
    dropout: FloatParam = FloatRange(low=0.0, high=0.5)
    dense_units: IntParam = Choices[int](choices=[0, 64, 128, 256])
    head: HeadParam = "global_average"
    residual: ResidualSpec = ResidualSpec()
    backbone: BackboneSpec = BackboneSpec()
    hypermodel: str | None = Field(
        None, description="'module:function' or 'file.py:function': a KerasTuner build(hp) replacing the plain CNN"
    )

    _bounds = {
        "blocks": (1, 12),
        "filters": (1, 4096),
        "filter_growth": (1.0, 4.0),
        "convs_per_block": (1, 4),
        "kernel_size": (1, 11),
        "dropout": (0.0, 0.95),
        "dense_units": (0, 8192),
    }

    @model_validator(mode="after")
    def _check_weights_file(self) -> ModelSpec:
        """A weights file holds one backbone's weights: it cannot serve a choice of backbones."""
        chosen = [a for a in tunable_values(self.architecture) if a in BACKBONES]
        if self.backbone.weights not in ("imagenet", "none") and len(chosen) > 1:
            raise ValueError(
                f"backbone: a weights file fits one backbone, but architecture may be {' or '.join(chosen)}"
            )
        return self

    @model_validator(mode="after")
    def _check_hypermodel(self) -> ModelSpec:
        """A hypermodel builds the whole network: the plain CNN's fields would silently do nothing."""
        if self.hypermodel is None:
            return self
        module, _, function = self.hypermodel.rpartition(":")
        if not module or not function.isidentifier():
            raise ValueError(f"hypermodel: expected 'module.path:function' or 'file.py:function', got {self.hypermodel!r}")
        unused = sorted(self.model_fields_set - {"hypermodel"})
        if unused:
            raise ValueError(f"{unused[0]}: not used with hypermodel (the hypermodel builds the whole network)")
        return self


class TrainSpec(_Section):
    """The training loop: budget in epochs, optimizer, batch size, early stopping."""

    epochs: int = Field(20, gt=0)
    batch_size: IntParam = Choices[int](choices=[32, 64, 128])
    learning_rate: FloatParam = FloatRange(low=1e-4, high=1e-2, log=True)
    optimizer: OptimizerParam = Choices[Optimizer](choices=["adam", "sgd", "adamw"])
    weight_decay: FloatParam = Field(0.004, description="adamw only (decoupled weight decay; Keras's default)")
    momentum: FloatParam = Field(0.9, description="sgd only")
    nesterov: BoolParam = Field(False, description="sgd only")
    clipnorm: FloatParam = Field(0.0, description="clip each gradient's norm to this; 0: no clipping")
    label_smoothing: FloatParam = 0.0
    lr_schedule: ScheduleParam = "constant"
    warmup_epochs: IntParam = Field(1, description="warmup_cosine only")
    class_weight: ClassWeightParam = "none"
    sampling: SamplingParam = Field("none", description="resample the training split only")
    early_stopping_patience: int = Field(5, ge=0, description="0 disables early stopping")
    reduce_lr_patience: int = Field(3, ge=0, description="0 disables ReduceLROnPlateau")

    _bounds = {
        "batch_size": (1, 65536),
        "learning_rate": (1e-8, 10.0),
        "weight_decay": (0.0, 1.0),
        "momentum": (0.0, 0.999),
        "clipnorm": (0.0, 1e6),
        "label_smoothing": (0.0, 0.5),
        "warmup_epochs": (0, 10000),
    }


class AugmentSpec(_Section):
    """Random augmentation layers, inside the model and active only in training."""

    flip: FlipParam = "none"
    rotation: FloatParam = 0.0
    translation: FloatParam = 0.0
    zoom: FloatParam = 0.0
    contrast: FloatParam = 0.0

    _bounds = {name: (0.0, 1.0) for name in ("rotation", "translation", "zoom", "contrast")}


class TrackingSpec(_Strict):
    """Where MLflow logs; defaults to a SQLite store under ./mlruns."""

    tracking_uri: str | None = None
    experiment: str = Field("", description="defaults to the study name")


class PerformanceSpec(_Strict):
    """Training speed settings; ``"auto"`` picks per device kind what measured faster there.

    Not part of the search space: every trial trains with the same settings
    (``cnnsearch/performance.py`` resolves them, ``docs/benchmarks.md`` has the figures).
    """

    mixed_precision: Literal["auto", True, False] = "auto"
    jit_compile: Literal["auto", True, False] = "auto"
    steps_per_execution: Literal["auto"] | int = "auto"

    @field_validator("mixed_precision", "jit_compile", mode="before")
    @classmethod
    def _auto_or_bool(cls, value: Any) -> Any:
        if value != "auto" and not isinstance(value, bool):
            raise ValueError(f'expected "auto", true or false, got {value!r}')
        return value

    @field_validator("steps_per_execution", mode="before")
    @classmethod
    def _auto_or_steps(cls, value: Any) -> Any:
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f'expected "auto" or an integer >= 1, got {value!r}')
        return value


class Spec(_Strict):
    """A whole validated search spec."""

    study: StudySpec = StudySpec()
    data: DataSpec
    model: ModelSpec = ModelSpec()
    train: TrainSpec = TrainSpec()
    augment: AugmentSpec = AugmentSpec()
    tracking: TrackingSpec = TrackingSpec()
    performance: PerformanceSpec = PerformanceSpec()

    @model_validator(mode="after")
    def _check_grid_space(self) -> Spec:
        if self.study.sampler == "grid":
            _check_grid(self)
        return self


# --- durations ---------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def parse_duration(value: int | str) -> int:
    """Seconds from ``3600``, ``"2h"``, ``"90m"``, ``"1h30m"`` or ``"45s"``."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"expected a positive number of seconds, got {value}")
        return value
    match = _DURATION.fullmatch(value.strip())
    if not value.strip() or match is None or not any(match.groups()):
        raise ValueError(f"expected a duration such as '2h', '90m', '1h30m' or '45s', got {value!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def flat_fields(section: BaseModel) -> list[tuple[str, Any]]:
    """A section's fields with sub-tables flattened: ``[model.residual] width`` -> ``residual_width``."""
    fields: list[tuple[str, Any]] = []
    for name, value in section:
        if isinstance(value, _Section):
            fields.extend((f"{name}_{sub}", subvalue) for sub, subvalue in flat_fields(value))
        else:
            fields.append((name, value))
    return fields


def _check_grid(spec: Spec) -> None:
    from cnnsearch.space import may_be_active  # the conditional space: unused sub-tables need no steps

    for section in ("model", "train", "augment"):
        for name, value in flat_fields(getattr(spec, section)):
            if isinstance(value, FloatRange) and value.step is None and may_be_active(name, spec):
                field = re.sub(r"^(residual|backbone)_", r"\1.", name) if section == "model" else name
                raise ValueError(
                    f"{section}.{field}: the grid sampler needs choices or a range with a step"
                )


# --- loading -----------------------------------------------------------------


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Spec:
    """Read, override and validate a spec file; raise SpecError with one line on any problem."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    _resolve_paths(raw, base=path.parent)
    overridden = apply_overrides(raw, overrides)
    raw.setdefault("study", {}).setdefault("name", path.stem)
    if isinstance(raw["study"], dict) and not raw["study"].get("name"):
        raw["study"]["name"] = path.stem
    return validate_spec(raw, source=str(path), overridden=overridden)


def validate_spec(raw: dict[str, Any], source: str = "<spec>", overridden: set[str] = frozenset()) -> Spec:
    """Validate a raw dict (as read from TOML) into a Spec, or raise a one-line SpecError."""
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(_format_error(exc, source, overridden)) from None
    if not spec.tracking.experiment:
        spec = spec.model_copy(update={"tracking": spec.tracking.model_copy(update={"experiment": spec.study.name})})
    if spec.study.initial_params:
        from cnnsearch.space import check_initial_params

        problem = check_initial_params(spec)
        if problem:
            raise SpecError(f"{source}: study.initial_params.{problem}")
    if spec.model.hypermodel is not None:
        from cnnsearch.hypermodel import load_build_function

        try:
            load_build_function(spec.model.hypermodel)  # a bad reference stops here, before any training
        except SpecError as exc:
            raise SpecError(f"{source}: model.hypermodel: {exc}") from None
    return spec


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    """Relative paths written in a spec file are relative to that file, not the cwd."""
    data = raw.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = str((base / Path(data["path"]).expanduser()).resolve())
    backbone = raw.get("model", {}).get("backbone") if isinstance(raw.get("model"), dict) else None
    if isinstance(backbone, dict) and backbone.get("weights") not in (None, "imagenet", "none"):
        if isinstance(backbone["weights"], str):
            backbone["weights"] = str((base / Path(backbone["weights"]).expanduser()).resolve())
    model = raw.get("model")
    if isinstance(model, dict) and isinstance(model.get("hypermodel"), str):
        file, sep, function = model["hypermodel"].rpartition(":")
        if sep and file.endswith(".py"):
            model["hypermodel"] = f"{(base / Path(file).expanduser()).resolve()}:{function}"


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> set[str]:
    """Apply ``section.key=value`` overrides in place; values parse as TOML, else as strings.

    Returns the dotted keys that were overridden, so errors can point at ``--set``.
    """
    done: set[str] = set()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(parts):
            raise SpecError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. study.n_trials=5")
        value = _parse_value(text.strip())
        if key in ("data.path", "model.backbone.weights") and isinstance(value, str) and value not in ("imagenet", "none"):
            value = str(Path(value).expanduser().resolve())
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {item!r}: '{part}' is not a table")
            node = child
        node[parts[-1]] = value
        done.add(key)
    return done


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


_TAGS = {"constant", "range", "choices", "explicit"}


def _format_error(exc: ValidationError, source: str, overridden: set[str]) -> str:
    """The first validation error as one line: ``FILE: FIELD: what was expected``.

    Unknown keys are reported first: a typo explains the "missing" errors it causes.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = _field_path(first["loc"])
    message = _message(first)
    # A model_validator's message "name: ..." names the field it is about.
    named = re.match(r"^([a-z_]+): ", message)
    if named and first["type"] == "value_error":
        loc, message = loc + [named.group(1)], message[named.end():]
    field = ".".join(loc).replace(".[", "[")
    where = source
    for key in overridden:
        if field == key or field.startswith(key + ".") or field.startswith(key + "["):
            where = "--set"
    if first["type"] == "extra_forbidden":
        line = f"{where}: unknown key '{field}'{_suggestion(loc)}"
    elif first["type"] == "missing":
        line = f"{where}: missing required key '{field}'"
    else:
        line = f"{where}: {field}: {message}" if field else f"{where}: {message}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def _field_path(loc: tuple[Any, ...]) -> list[str]:
    """Dotted field names from a pydantic loc, without the union's tag (once) and with [i] indexes."""
    parts: list[str] = []
    tag_dropped = False
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _TAGS and not tag_dropped and parts:
            tag_dropped = True
        elif not str(item).startswith(("Choices[", "function-")):
            parts.append(str(item))
    return parts


def _message(error: dict[str, Any]) -> str:
    kind, got = error["type"], error.get("input")
    expected = {
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "model_type": "a table",
        "dict_type": "a table",
    }.get(kind)
    if expected:
        return f"expected {expected}, got {got!r}"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {got!r}"
    if kind == "too_short" and error["loc"] and error["loc"][-1] == "choices":
        return "choices must not be empty"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "union_tag_invalid":
        forms = "a constant or { choices = [...] }"
        if "range" in error["ctx"]["expected_tags"]:
            forms = "a constant, { low = ..., high = ... } or { choices = [...] }"
        return f"expected {forms}, got {got!r}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {got!r}"


def _suggestion(loc: list[str]) -> str:
    """'did you mean ...' for a mistyped key, from the fields of the enclosing section."""
    model: type[BaseModel] = Spec
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            # Inside a tunable's table: the keys of a range or choices.
            names = ["low", "high", "step", "log", "choices"]
            break
        model = annotation
    else:
        names = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], names, n=1)
    allowed = ", ".join(names)
    return f" (did you mean '{close[0]}'?)" if close else f" (allowed: {allowed})"


# --- dumping -------------------------------------------------------------------


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The resolved spec as plain data (ranges and choices as tables), for JSON/TOML/MLflow."""
    return spec.model_dump(mode="json", exclude_none=True)


def spec_to_toml(spec: Spec) -> str:
    """The resolved spec as TOML, loadable again with load_spec."""
    lines: list[str] = []
    for section, table in spec_to_dict(spec).items():
        _toml_table(lines, section, table, getattr(spec, section))
    return "\n".join(lines)


def _toml_table(lines: list[str], name: str, table: dict[str, Any], model: BaseModel) -> None:
    """One [table], its sub-sections (``[model.residual]``) after its own keys."""
    lines.append(f"[{name}]")
    subtables = [key for key in table if isinstance(getattr(model, key, None), _Section)]
    lines.extend(f"{_toml_key(key)} = {_toml_value(value)}" for key, value in table.items() if key not in subtables)
    lines.append("")
    for key in subtables:
        _toml_table(lines, f"{name}.{key}", table[key], getattr(model, key))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
