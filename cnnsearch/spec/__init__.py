"""The search spec: a TOML file validated once, strictly, into frozen pydantic models.

Every tunable field takes a constant, a range (``{low, high, step?, log?}``) or
``{choices = [...]}``. Nothing is silently dropped: unknown keys are errors, and
every error becomes one line naming the file, the field and what was expected.
This layer imports no other (only the shared leaf modules).
"""

from cnnsearch.spec._auto_metric import (
    BALANCED_METRIC,
    IMBALANCE_RATIO,
    PLAIN_METRIC,
    as_ran,
    choose_metric,
    imbalance_ratio,
    is_auto,
    with_metric,
)
from cnnsearch.spec._conditions import (
    COMPILE_PARAMS,
    PLAIN_FIELDS,
    TUNED_SECTIONS,
    active,
    grid,
    may_be_active,
    searched_names,
    tunables,
)
from cnnsearch.spec._data_section import parse_bytes
from cnnsearch.spec._dumping import spec_to_dict, spec_to_toml
from cnnsearch.spec._json_schema import SCHEMA_FILE, json_schema, json_schema_text
from cnnsearch.spec._loading import apply_overrides, load_spec, validate_spec
from cnnsearch.spec._objectives import (
    AUTO_METRIC,
    COSTS,
    HISTORY_KEYS,
    LIMITS,
    ObjectiveSpec,
    describe_objectives,
    is_multi_objective,
    limits,
    measured_costs,
)
from cnnsearch.spec._reference import reference_markdown, section_fields
from cnnsearch.spec._references import describe_exception, load_build_function
from cnnsearch.spec._schema import (
    AugmentSpec,
    BackboneSpec,
    DataSpec,
    ExportSpec,
    ModelSpec,
    PerformanceSpec,
    ResidualSpec,
    Spec,
    StudySpec,
    TrackingSpec,
    TrainSpec,
)
from cnnsearch.spec._types import BACKBONES, Choices, FloatRange, IntRange, flat_fields, parse_duration, tunable_values

__all__ = [
    "AUTO_METRIC",
    "BALANCED_METRIC",
    "IMBALANCE_RATIO",
    "PLAIN_METRIC",
    "BACKBONES",
    "COMPILE_PARAMS",
    "COSTS",
    "HISTORY_KEYS",
    "LIMITS",
    "PLAIN_FIELDS",
    "SCHEMA_FILE",
    "TUNED_SECTIONS",
    "AugmentSpec",
    "BackboneSpec",
    "Choices",
    "DataSpec",
    "ExportSpec",
    "FloatRange",
    "IntRange",
    "ModelSpec",
    "ObjectiveSpec",
    "PerformanceSpec",
    "ResidualSpec",
    "Spec",
    "StudySpec",
    "TrackingSpec",
    "TrainSpec",
    "active",
    "apply_overrides",
    "as_ran",
    "choose_metric",
    "describe_objectives",
    "describe_exception",
    "flat_fields",
    "grid",
    "imbalance_ratio",
    "is_auto",
    "is_multi_objective",
    "json_schema",
    "json_schema_text",
    "limits",
    "load_build_function",
    "load_spec",
    "parse_bytes",
    "may_be_active",
    "measured_costs",
    "parse_duration",
    "reference_markdown",
    "searched_names",
    "section_fields",
    "spec_to_dict",
    "spec_to_toml",
    "tunable_values",
    "tunables",
    "validate_spec",
    "with_metric",
]
