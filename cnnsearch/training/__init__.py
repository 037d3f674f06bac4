"""Compile and fit a model from a trial's params, and read its curves.

Optimizer knobs, learning-rate schedules, label smoothing, class weights and
resampling, the fine-tuning phase of backbones, speed settings per device kind,
per-epoch reporting, and the learning-curve diagnosis. The only layer that
compiles a model. Imports ``spec``, ``data`` and ``models``.
"""

from typing import TYPE_CHECKING

from cnnsearch._lazy import lazy_names

if TYPE_CHECKING:
    from cnnsearch.training._balanced import BalancedMetrics
    from cnnsearch.training._callbacks import EpochListener, EpochReporter, learning_rate
    from cnnsearch.training._costs import (
        MIN_REPEATS,
        ROUNDS,
        WARMUP_CALLS,
        count_flops,
        device_name,
        keras_file_mb,
        latency_ms,
        measure_costs,
    )
    from cnnsearch.training._diagnosis import LABELS, Diagnosis, diagnose
    from cnnsearch.training._fit import (
        compile_model,
        fine_tune_epochs,
        fit,
        fit_full,
        make_optimizer,
        standard_callbacks,
    )
    from cnnsearch.training._imbalance import (
        MAX_LOGGED_CLASSES,
        check_class_weights,
        per_class_metrics,
        resample,
        resampled_rows,
        settle_metric,
    )
    from cnnsearch.training._performance import AUTO, DeviceKind, Settings, apply_precision, device_kind, resolve
    from cnnsearch.training._schedules import ClockSchedule

__all__ = [
    "AUTO",
    "ClockSchedule",
    "BalancedMetrics",
    "LABELS",
    "MAX_LOGGED_CLASSES",
    "MIN_REPEATS",
    "ROUNDS",
    "DeviceKind",
    "Diagnosis",
    "EpochListener",
    "EpochReporter",
    "Settings",
    "WARMUP_CALLS",
    "apply_precision",
    "check_class_weights",
    "compile_model",
    "count_flops",
    "device_kind",
    "device_name",
    "diagnose",
    "fine_tune_epochs",
    "fit",
    "fit_full",
    "keras_file_mb",
    "latency_ms",
    "learning_rate",
    "make_optimizer",
    "measure_costs",
    "per_class_metrics",
    "resample",
    "resampled_rows",
    "resolve",
    "settle_metric",
    "standard_callbacks",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
