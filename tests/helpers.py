"""Templates the tests share: tiny specs, tiny-model params, the hypermodel example.

One copy of each, imported (``from tests.helpers import ...``) by the tests that need it,
so a change to a template changes every test that uses it. Fixtures stay in conftest.py.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

#: A spec small enough to train in seconds on 2 CPU cores.
TINY_SPEC = """
[study]
name = "tiny"
n_trials = {n_trials}
sampler = "random"
pruner = "{pruner}"
seed = 7

[data]
dataset = "digits"
max_train_samples = 400

[model]
blocks = {{ low = 1, high = 2 }}
filters = {{ choices = [8, 16] }}
kernel_size = 3
batch_norm = {{ choices = [true, false] }}
dropout = {{ low = 0.0, high = 0.3 }}
dense_units = {{ choices = [0, 32] }}

[train]
epochs = {epochs}
batch_size = 64
learning_rate = {{ low = 1e-3, high = 1e-2, log = true }}
optimizer = "adam"
early_stopping_patience = 2
"""


def tiny_spec(n_trials: int = 3, epochs: int = 2, pruner: str = "none", extra: str = "") -> str:
    """The text of :data:`TINY_SPEC` with these values, ``extra`` appended."""
    return TINY_SPEC.format(n_trials=n_trials, epochs=epochs, pruner=pruner) + extra


#: Trial params (for ``study.enqueue_trial``) inside TINY_SPEC's space that learn digits in a few epochs.
GOOD: dict[str, Any] = {
    "learning_rate": 1e-2,
    "batch_norm": True,
    "dropout": 0.0,
    "dense_units": 32,
    "filters": 16,
    "blocks": 2,
}

#: The smallest plain network: one block of four 3x3 filters, no dense layer (built, rarely trained).
TINY_PLAIN: dict[str, Any] = {
    "blocks": 1,
    "filters": 4,
    "filter_growth": 2.0,
    "convs_per_block": 1,
    "kernel_size": 3,
    "batch_norm": False,
    "dropout": 0.0,
    "dense_units": 0,
    "head": "global_average",
}

#: Augmentation params that leave images as they are.
NO_AUGMENT: dict[str, Any] = {"flip": "none", "rotation": 0.0, "translation": 0.0, "zoom": 0.0, "contrast": 0.0}

#: Backbone params for a small untrained backbone (weights=None: nothing is downloaded).
BACKBONE_PARAMS: dict[str, Any] = {
    "backbone_weights": "none",
    "backbone_freeze": "none",
    "backbone_image_size": 0,
    "backbone_alpha": 0.35,
    "backbone_dropout": 0.0,
    "backbone_dense_units": 0,
    "backbone_fine_tune_epochs": 0,
    "backbone_fine_tune_lr_factor": 0.1,
}

#: A study over any architecture, 1 epoch on a few digits (8x8, resized to 32x32 for backbones).
ARCHITECTURE_STUDY = """
[study]
name = "{name}"
n_trials = {n_trials}
sampler = "{sampler}"
pruner = "none"
seed = 3

[data]
dataset = "digits"
max_train_samples = 150

[model]
architecture = {architecture}
blocks = 1
filters = 8
batch_norm = false
dropout = 0.0
dense_units = 0
kernel_size = 3

[model.residual]
stages = 2
blocks_per_stage = 1
width = 8
dropout = 0.0

[model.backbone]
alpha = 0.35
dropout = 0.1

[train]
epochs = 1
batch_size = 32
learning_rate = 0.01
optimizer = "adam"
{extra}
"""


def study_spec(
    folder: Path, name: str, architecture: str, n_trials: int = 1, sampler: str = "random", extra: str = ""
) -> Path:
    """Write :data:`ARCHITECTURE_STUDY` to ``folder/name.toml``; ``architecture`` is TOML (a quoted name or choices)."""
    path = folder / f"{name}.toml"
    text = ARCHITECTURE_STUDY.format(
        name=name, architecture=architecture, n_trials=n_trials, sampler=sampler, extra=extra
    )
    path.write_text(text)
    return path


#: The shipped KerasTuner hypermodel example (a ``build(hp)`` function).
HYPERMODEL_EXAMPLE = ROOT / "search_spaces" / "hypermodels" / "digits_hypermodel.py"

#: A study whose network is a KerasTuner hypermodel named by a ``module:function`` reference.
HYPERMODEL_SPEC = """
[study]
name = "hm"
n_trials = {n_trials}
sampler = "random"
pruner = "none"
seed = 3
max_consecutive_failures = {failures}

[data]
dataset = "digits"
max_train_samples = 300

[model]
hypermodel = "{reference}"

[train]
epochs = 1
batch_size = 64
"""


def hypermodel_spec(folder: Path, reference: str, n_trials: int = 2, failures: int = 5) -> Path:
    """Write :data:`HYPERMODEL_SPEC` to ``folder/hm.toml`` with this reference."""
    path = folder / "hm.toml"
    path.write_text(HYPERMODEL_SPEC.format(reference=reference, n_trials=n_trials, failures=failures))
    return path


def run_in(folder: Path, spec: Path) -> optuna.Study:
    """``cnnsearch run SPEC`` in this process, from ``folder`` (its mlruns/), without progress output.

    For a test whose subject is what comes after the search: a CLI process would add a
    TensorFlow start-up (6 s on 2 cores) to train the same study.
    """
    import os

    from cnnsearch.api import run

    here = Path.cwd()
    os.chdir(folder)
    try:
        return run(spec, progress=False)
    finally:
        os.chdir(here)


#: The ``tiny_spec_file`` fixture: writes a tiny spec variant, returns its path.
SpecFile = Callable[..., Path]
#: The ``tiny_spec_text`` fixture: :func:`tiny_spec`.
SpecText = Callable[..., str]
#: The ``seed_store`` fixture: copies the session's migrated MLflow store into a folder.
SeedStore = Callable[[Path], None]


class FakeTracking:
    """A stand-in for the search's tracking (``cnnsearch.search.Tracking``): records each call, in order.

    Every method of the protocol is here, so mypy checks the fake wherever a test passes it to
    the search; a test that compares ``calls`` with a list also sees any call it did not expect.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.plots = Recorder()

    @property
    def busy_s(self) -> float:
        return 0.0

    # The study's run (StudyTracking).
    def open_study_run(self, study: optuna.Study, spec_files: dict[str, str]) -> str:
        self.calls.append(("open_study_run", study.study_name, sorted(spec_files)))
        return "parent-1"

    def close_study_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.calls.append(("close_study_run", run_id, status))

    def log_study_progress(self, run_id: str, step: int, best: float | None, counts: dict[str, int]) -> None:
        self.calls.append(("log_study_progress", run_id, step, best, counts))

    def study_plots(self, run_id: str) -> Recorder:
        self.calls.append(("study_plots", run_id))
        return self.plots

    def close_trial_runs(self, trial: FrozenTrial, reason: str, state: str) -> int:
        self.calls.append(("close_trial_runs", trial.number, reason, state))
        return 1

    def close_orphan_runs(self, study: optuna.Study) -> int:
        self.calls.append(("close_orphan_runs", study.study_name))
        return 0

    # A trial's run (TrialTracking).
    def start_trial(self, parent_run_id: str, number: int, params: dict[str, Any]) -> str:
        self.calls.append(("start_trial", parent_run_id, number))
        return f"trial-{number}"

    def end_trial(
        self, run_id: str, state: str, value: float | None = None, tags: dict[str, str] | None = None
    ) -> None:
        self.calls.append(("end_trial", run_id, state, value))

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self.calls.append(("log_params", run_id, sorted(params)))

    def log_metrics(self, run_id: str, step: int, metrics: dict[str, float]) -> None:
        self.calls.append(("log_metrics", run_id, step, metrics))

    def log_class_table(self, run_id: str, table: dict[str, list[Any]]) -> None:
        self.calls.append(("log_class_table", run_id, sorted(table)))

    def share_weights(self, run_id: str, files: list[Path]) -> None:
        self.calls.append(("share_weights", run_id, [f.name for f in files]))

    def drop_shared_weights(self, run_ids: list[str]) -> str | None:
        self.calls.append(("drop_shared_weights", sorted(run_ids)))
        return None

    def epoch_logger(self, run_id: str) -> Callable[[int, dict[str, float]], None]:
        return lambda epoch, metrics: self.log_metrics(run_id, epoch, metrics)

    def log_model_summary(self, run_id: str, model: Any) -> None:
        self.calls.append(("log_model_summary", run_id))

    def log_trial_curves(
        self,
        run_id: str,
        trial: optuna.Trial,
        history: dict[str, list[float]],
        *,
        pruned_epoch: int | None,
        planned_epochs: int,
        num_classes: int,
    ) -> None:
        self.calls.append(("log_trial_curves", run_id, trial.number, pruned_epoch))


class Recorder:
    """A stand-in for a study display (``StudyDisplay``) or the study plots (``StudyPlots``): records each call.

    ``fail_on``: the name of a call that raises after it is recorded.
    """

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on = fail_on

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        if call[0] == self.fail_on:
            raise RuntimeError(f"{self.fail_on} failed")

    def study_opened(self, study: optuna.Study) -> None:
        self._record("study_opened", study.study_name)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self._record("trial_started", number)

    def epoch_ended(self, epoch: int, metrics: dict[str, float]) -> None:
        self._record("epoch_ended", epoch)

    def trial_finished(self, study: optuna.Study, trial: FrozenTrial | None = None) -> None:
        """A display is told the trial; the plots (``StudyPlots.trial_finished(study)``) are not."""
        self._record("trial_finished", None if trial is None else trial.number)

    def say(self, text: str) -> None:
        self._record("say", text)

    def finish(self, study: optuna.Study) -> None:
        self._record("finish")


def wait_until(
    found: Callable[[], T | None], what: str, timeout: float = 120, proc: subprocess.Popen[str] | None = None
) -> T:
    """Poll ``found`` until it returns something other than None, and return that.

    For a condition another process makes true (a trial inside training, a line in a file):
    the test goes on as soon as it holds instead of sleeping a fixed time. Fails naming
    ``what`` after ``timeout`` seconds, or at once if ``proc`` exited meanwhile.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result is not None:
            return result
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def on_the_example_hypermodel(path: Path) -> Path:
    """A tiny spec file moved onto the example hypermodel: its own compile may log any key, so
    ``validate`` lets ``study.metric=val_auc`` through, and every trial fails at its first epoch for want of it."""
    text = path.read_text()
    example = Path(__file__).parents[1] / "search_spaces" / "hypermodels" / "digits_hypermodel.py"
    path.write_text(
        f'{text.split("[model]")[0]}[model]\nhypermodel = "{example}:build"\n\n[train]{text.split("[train]")[1]}'
    )
    return path
