"""The worker pool's pieces that need no process: GPU placement, worker environments, a worker's last error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnsearch.search import _pool as pool
from cnnsearch.search._pool import visible_gpus, worker_env


@pytest.mark.parametrize(
    ("listed", "gpus"),
    [
        ("0", ["0"]),
        ("0,1,2", ["0", "1", "2"]),
        (" 3 , 1 ,, ", ["3", "1"]),  # spaces and empty entries ignored, order kept
        ("GPU-5f2c,MIG-1a2b", ["GPU-5f2c", "MIG-1a2b"]),  # UUIDs pass through
        ("-1", []),  # CUDA's "no GPU"
        ("", []),
    ],
)
def test_visible_gpus_follow_cuda_visible_devices(
    monkeypatch: pytest.MonkeyPatch, listed: str, gpus: list[str]
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", listed)
    assert visible_gpus() == gpus


def test_without_cuda_visible_devices_nvidia_smi_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", "")  # no nvidia-smi to ask: no GPU
    assert visible_gpus() == []


def test_worker_env_spreads_workers_over_gpus_round_robin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6")  # what the supervisor itself sees
    gpus = ["4", "5"]
    assert [worker_env(slot, gpus)["CUDA_VISIBLE_DEVICES"] for slot in range(5)] == ["4", "5", "4", "5", "4"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4,5,6"  # the supervisor's own environment is untouched


def test_worker_env_shares_gpu_memory_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setenv("CNNSEARCH_TEST_MARK", "kept")
    env = worker_env(0, [])
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"  # TensorFlow takes GPU memory as it needs it
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"  # JAX does not grab 75% up front
    assert env["PYTHONUNBUFFERED"] == "1"  # each line reaches the worker's log at once
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"  # quiet by default ...
    assert env["CNNSEARCH_TEST_MARK"] == "kept"
    assert "CUDA_VISIBLE_DEVICES" not in env  # no GPUs: nothing pinned
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert worker_env(0, [])["TF_CPP_MIN_LOG_LEVEL"] == "0"  # ... unless the user asked for TensorFlow's logs


def test_last_error_is_the_workers_error_line(tmp_path: Path) -> None:
    log = tmp_path / "worker-0.log"
    log.write_text(
        "Study tiny: 4 trials\n"
        "error: an early complaint\n"
        "trial   0  COMPLETE  1.0s\n"
        "error: study.storage: cannot open 'postgresql://db/x': connection refused\n"
        "shutting down\n"
    )
    assert pool._last_error(log) == "study.storage: cannot open 'postgresql://db/x': connection refused"


def test_last_error_without_an_error_line(tmp_path: Path) -> None:
    log = tmp_path / "worker-1.log"
    log.write_text("Traceback (most recent call last):\n  ...\nMemoryError: Unable to allocate 8.0 GiB\n\n")
    assert pool._last_error(log) == "MemoryError: Unable to allocate 8.0 GiB"  # the last line instead
    log.write_bytes(b"error: caf\xe9 not utf-8\n")
    assert pool._last_error(log) == "caf\ufffd not utf-8"  # undecodable bytes replaced, not raised
    log.write_text("  \n\n")
    assert pool._last_error(log) == "no output"
    assert pool._last_error(tmp_path / "never-written.log") == "no log"


def test_the_device_line_names_the_cpu_and_a_gpu_the_backend_cannot_see() -> None:
    """This machine has no GPU: the line names the CPU; a listed GPU that Keras cannot see is a fallback."""
    from cnnsearch.search import this_device

    here = this_device(listed=[])
    assert here.fallback is None and here.line().startswith("device: CPU: ")
    assert here.as_params() == {"device": here.name}
    lost = this_device(listed=["0"])
    assert (
        lost.fallback is not None and "1 GPU(s) listed" in lost.fallback and "training runs on the CPU" in lost.fallback
    )
    assert "[FALLBACK: " in lost.line() and lost.as_params()["device_fallback"] == lost.fallback


def test_after_the_exploration_deadline_a_worker_is_replaced_only_for_a_queued_final_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that stopped because another runs the final training are not restarted in a loop."""
    import time

    import optuna

    from cnnsearch._keys import FINAL_EPOCHS_ATTR
    from cnnsearch.spec import load_spec
    from tests.conftest import tiny_spec

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec(n_trials=50, epochs=1))
    spec = load_spec(path, ["study.timeout=600", "study.final_share=0.5"])
    supervisor = pool.Supervisor(spec, path, [], 2, tracking=None)  # type: ignore[arg-type]
    supervisor.deadline = time.monotonic() + 300
    supervisor.explore_until = time.monotonic() + 60
    study = optuna.create_study(direction="maximize")
    assert supervisor._needs_more(study)  # exploring: 0 of 50 trials
    supervisor.explore_until = time.monotonic() - 1
    assert not supervisor._needs_more(study)  # the final training runs elsewhere, or was not worth it
    study.enqueue_trial({}, user_attrs={FINAL_EPOCHS_ATTR: 30})  # a dead final training's retry
    assert supervisor._needs_more(study)
    supervisor.deadline = time.monotonic() - 1
    assert not supervisor._needs_more(study)  # past the deadline: nothing more
