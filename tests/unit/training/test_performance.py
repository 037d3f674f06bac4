"""[performance]: spec validation, "auto" per device kind, and settings reaching Keras."""

from __future__ import annotations

import keras
import pytest
from mlflow.tracking import MlflowClient

from cnnsearch import model as model_lib
from cnnsearch import performance
from cnnsearch.errors import SpecError
from cnnsearch.performance import AUTO, Settings
from cnnsearch.spec import PerformanceSpec, load_spec, spec_to_toml
from cnnsearch.study import run
from cnnsearch.tracking import default_tracking_uri
from cnnsearch.train import compile_model

PARAMS = {
    "architecture": "plain", "blocks": 1, "filters": 4, "filter_growth": 2.0, "convs_per_block": 1,
    "kernel_size": 3, "batch_norm": True, "dropout": 0.0, "dense_units": 0, "head": "global_average",
    "learning_rate": 1e-3, "optimizer": "adam", "batch_size": 16, "epochs": 1,
}


def test_defaults_are_auto_and_round_trip(tiny_spec_file) -> None:
    spec = load_spec(tiny_spec_file(extra='\n[performance]\njit_compile = true\nsteps_per_execution = 4\n'))
    assert spec.performance == PerformanceSpec(mixed_precision="auto", jit_compile=True, steps_per_execution=4)
    assert load_spec(tiny_spec_file()).performance == PerformanceSpec()
    path = tiny_spec_file()
    path.write_text(spec_to_toml(spec))  # the resolved TOML loads back to the same section
    assert load_spec(path).performance == spec.performance


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("jit_compile = \"yes\"", "performance.jit_compile: expected \"auto\", true or false, got 'yes'"),
        ("mixed_precision = 1", "performance.mixed_precision: expected \"auto\", true or false, got 1"),
        ("steps_per_execution = 0", "performance.steps_per_execution: expected \"auto\" or an integer >= 1, got 0"),
        ("steps_per_execution = true", "performance.steps_per_execution: expected \"auto\" or an integer >= 1"),
        ("steps_per_exec = 2", "unknown key 'performance.steps_per_exec' (did you mean 'steps_per_execution'?)"),
    ],
)
def test_bad_values_are_one_line_errors(tiny_spec_file, extra: str, message: str) -> None:
    path = tiny_spec_file(extra=f"\n[performance]\n{extra}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_auto_takes_the_device_kinds_default_and_explicit_values_win() -> None:
    for kind in ("cpu", "gpu"):
        assert performance.resolve(PerformanceSpec(), kind) == AUTO[kind]
    chosen = performance.resolve(PerformanceSpec(mixed_precision=True, jit_compile=False, steps_per_execution=7), "gpu")
    assert chosen == Settings(mixed_precision=True, jit_compile=False, steps_per_execution=7)
    # Keras's PyTorch backend runs one step per execution only.
    assert performance.resolve(PerformanceSpec(), "cpu", backend="torch").steps_per_execution == 1
    assert performance.device_kind() == "cpu"  # the test machines have no GPU


@pytest.mark.parametrize("jit", [True, False])
def test_settings_reach_compile(jit: bool) -> None:
    from keras.src.trainers.trainer import model_supports_jit

    net = model_lib.build(PARAMS, (8, 8, 1), 3)
    compile_model(net, PARAMS, performance=Settings(jit_compile=jit, steps_per_execution=5))
    # Keras itself turns XLA off where it cannot apply (e.g. once TF op determinism is on).
    assert net.jit_compile is (jit and model_supports_jit(net))
    assert net.steps_per_execution == 5
    plain = model_lib.build(PARAMS, (8, 8, 1), 3)
    compile_model(plain, PARAMS)  # no settings: Keras's own defaults
    assert plain.steps_per_execution == 1


def test_mixed_precision_policy_keeps_the_output_float32() -> None:
    try:
        performance.apply_precision(Settings(mixed_precision=True))
        net = model_lib.build(PARAMS, (8, 8, 1), 3)
        assert net.get_layer("block1_conv1").compute_dtype == "bfloat16"  # CPU: bfloat16, GPU: float16
        assert net.get_layer("predictions").compute_dtype == "float32"
        assert net.output.dtype == "float32"
    finally:
        performance.apply_precision(Settings(mixed_precision=False))
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_study_trains_with_the_specs_settings_and_records_them(tiny_spec_file) -> None:
    path = tiny_spec_file(n_trials=1, epochs=1)
    spec = load_spec(path, ["performance.steps_per_execution=3", "performance.mixed_precision=false"])
    study = run(spec, spec_path=path)
    client = MlflowClient(default_tracking_uri())
    trial_run = client.get_run(study.trials[0].user_attrs["mlflow_run_id"])
    assert trial_run.data.params["performance.steps_per_execution"] == "3"
    assert trial_run.data.params["performance.mixed_precision"] == "False"
    assert study.trials[0].state.name == "COMPLETE"
