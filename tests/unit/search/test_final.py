"""``study.final_share``: when exploring stops, which params train once more and for how long.

Real in-memory Optuna studies whose trials carry the start and end times a run records.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from cnnsearch._keys import EPOCHS_RUN_ATTR, FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FINAL_SEED_OF_ATTR
from cnnsearch.errors import SpecError
from cnnsearch.search import _final as final
from cnnsearch.search._objective import final_params
from cnnsearch.spec import Spec, load_spec
from tests.conftest import tiny_spec

START = dt.datetime(2026, 12, 2, 8, 0, 0)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _spec(tmp_path: Path, *overrides: str, epochs: int = 4) -> Spec:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec(n_trials=5, epochs=epochs))
    return load_spec(path, ["study.timeout=600", "study.final_share=0.5", *overrides])


def _trial(value: float, seconds: float, epochs: int, **attrs: object) -> optuna.trial.FrozenTrial:
    trial = create_trial(
        value=value,
        params={"x": value},
        distributions={"x": FloatDistribution(-10, 10)},
        user_attrs={EPOCHS_RUN_ATTR: epochs, **attrs},
    )
    trial.datetime_start = START
    trial.datetime_complete = START + dt.timedelta(seconds=seconds)
    return trial


def _study(*trials: optuna.trial.FrozenTrial) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        study.add_trial(trial)
    return study


def test_exploring_stops_final_share_of_the_timeout_before_the_deadline(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    assert final.exploration_deadline(spec, 1000.0) == 1000.0 - 0.5 * 600
    assert final.exploration_deadline(spec, None) is None
    off = _spec(tmp_path, "study.final_share=0")
    assert final.exploration_deadline(off, 1000.0) == 1000.0


def test_the_best_trial_trains_for_the_epochs_the_time_left_buys(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = _study(
        _trial(0.7, seconds=40, epochs=4), _trial(0.9, seconds=80, epochs=4), _trial(0.8, seconds=8, epochs=4)
    )
    best, epochs = final.plan(study, spec, remaining_s=305.0)  # type: ignore[misc]
    assert best.value == 0.9
    assert epochs == 15  # (305 s - 5 s kept back) / 20 s per epoch of trial 1


def test_no_final_training_without_final_share(tmp_path: Path) -> None:
    """A timeout alone (cifar10.toml has one) never adds a final training after n_trials."""
    study = _study(_trial(0.9, seconds=2, epochs=2))
    assert final.plan(study, _spec(tmp_path, "study.final_share=0"), remaining_s=3000.0) is None
    assert final.plan(study, _spec(tmp_path), remaining_s=3000.0) is not None


def test_the_final_schedule_is_not_capped_at_a_multiple_of_train_epochs(tmp_path: Path) -> None:
    """Fast hardware buys more epochs: the time left decides, not 10 x train.epochs (issue 27)."""
    spec = _spec(tmp_path, epochs=2)
    study = _study(_trial(0.9, seconds=2, epochs=2))
    planned = final.plan(study, spec, remaining_s=3000.0)
    assert planned is not None and planned[1] == 2995  # (3000 - 5) s at 1 s per epoch


def test_no_final_training_when_the_time_left_buys_too_little(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = _study(_trial(0.9, seconds=80, epochs=4))  # 20 s per epoch: 6 epochs would need 125 s
    assert final.plan(study, spec, remaining_s=120.0) is None
    assert final.plan(study, spec, remaining_s=125.0) == (study.trials[0], 6)


def test_no_final_training_without_a_complete_trial_or_after_one(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    assert final.plan(_study(create_trial(state=TrialState.PRUNED)), spec, remaining_s=600.0) is None
    done = _study(
        _trial(0.8, seconds=8, epochs=4),
        _trial(0.95, seconds=80, epochs=20, **{FINAL_EPOCHS_ATTR: 20, FINAL_OF_ATTR: 0}),
    )
    assert final.plan(done, spec, remaining_s=600.0) is None


def test_the_queued_final_training_is_the_best_params_marked_with_its_epochs(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    study = _study(_trial(0.7, seconds=8, epochs=4), _trial(0.9, seconds=8, epochs=4))
    best, epochs = final.plan(study, spec, remaining_s=100.0)  # type: ignore[misc]
    final.enqueue(study, best, epochs)
    assert final.pending(study)
    queued = study.get_trials(states=(TrialState.WAITING,))[0]
    # The epochs are a ceiling: the clock (ClockSchedule, StopAtDeadline) ends the training.
    assert queued.user_attrs == {FINAL_EPOCHS_ATTR: final.CEILING * epochs, FINAL_OF_ATTR: 1}
    assert final.plan(study, spec, remaining_s=100.0) is None  # queued once per study


def test_with_final_others_seeds_the_other_workers_queue_the_same_params_beside_the_final_training(
    tmp_path: Path,
) -> None:
    """One training beside it per worker that arrives, up to the cap, while it is queued or running."""
    spec = _spec(tmp_path)  # study.final_others = "seeds", the default
    study = _study(_trial(0.7, seconds=8, epochs=4), _trial(0.9, seconds=8, epochs=4))
    assert final.plan_seed(study, spec, remaining_s=100.0) is None  # no final training yet
    final.enqueue(study, *final.plan(study, spec, remaining_s=100.0))  # type: ignore[misc]
    primary = study.get_trials(states=(TrialState.WAITING,))[0]
    stop = _spec(tmp_path, 'study.final_others="stop"')
    assert final.plan_seed(study, stop, remaining_s=100.0) is None
    assert final.plan_seed(study, spec, remaining_s=6.0) is None  # the time left buys too little
    study.ask()  # the final training starts (the oldest queued trial)
    for _ in range(2):
        planned = final.plan_seed(study, spec, remaining_s=100.0)
        assert planned is not None and planned.primary == primary.number
        assert planned.winner.number == 1 and planned.epochs == 47  # (100 - 5) s at 2 s per epoch
        final.enqueue_seed(study, planned)
        assert final.plan_seed(study, spec, remaining_s=100.0) is None  # one queued: run that first
        study.ask()  # the seed starts
    assert final.plan_seed(study, spec, remaining_s=100.0) is None  # the cap: ensemble_size - 1
    beside = [t for t in study.get_trials() if final.is_seed(t)]
    assert len(beside) == 2
    for trial in beside:
        assert trial.system_attrs["fixed_params"] == {"x": 0.9}  # the winner's params, as the final's
        assert final.is_seed(trial) and final.is_final(trial)
        assert trial.user_attrs == {FINAL_EPOCHS_ATTR: 4700, FINAL_OF_ATTR: 1, FINAL_SEED_OF_ATTR: primary.number}
    assert final.plan(study, spec, remaining_s=100.0) is None  # still one final training per study
    assert not final.is_seed(primary)


def test_the_final_params_get_their_epoch_ceiling_and_never_stop_early() -> None:
    """The final training's rate decays over the time left whatever lr_schedule says: no plateau stops it."""
    study = optuna.create_study()
    study.enqueue_trial({}, user_attrs={FINAL_EPOCHS_ATTR: 40})
    trial = study.ask()
    params = {"epochs": 4, "early_stopping_patience": 3, "learning_rate": 0.01}
    assert final_params(trial, params) == {"epochs": 40, "early_stopping_patience": 40, "learning_rate": 0.01}
    assert final_params(trial, {**params, "early_stopping_patience": 0})["early_stopping_patience"] == 0
    assert final_params(trial, {**params, "reduce_lr_patience": 2})["reduce_lr_patience"] == 0
    assert final_params(trial, {**params, "lr_schedule": "cosine"})["early_stopping_patience"] == 40
    plain = study.ask()
    assert final_params(plain, params) is params


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["study.final_share=0.5"], "study.final_share: the final training's epochs come from study.timeout"),
        (["study.timeout=60", "study.final_share=0.5", "study.folds=3"], "set study.folds = 1"),
        (["study.timeout=60", "study.final_share=0.95"], "study.final_share"),
    ],
)
def test_final_share_needs_a_timeout_and_one_split(tmp_path: Path, overrides: list[str], message: str) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec())
    with pytest.raises(SpecError, match=message.replace(".", r"\.")):
        load_spec(path, overrides)


def test_exploring_trials_get_the_deadline_once_another_trial_completed() -> None:
    study = optuna.create_study(direction="maximize")
    first = study.ask()
    assert final.exploring_deadline(first, 100.0) is None  # no winner yet: the first trial finishes
    study.tell(first, 0.5)
    second = study.ask()
    assert final.exploring_deadline(second, 100.0) == 100.0
    assert final.exploring_deadline(second, None) is None
    study.tell(second, 0.6)
    study.enqueue_trial({}, user_attrs={FINAL_EPOCHS_ATTR: 20, FINAL_OF_ATTR: 1})
    assert final.exploring_deadline(study.ask(), 100.0) is None  # the final training itself


@pytest.mark.parametrize(("epochs", "pruned_at"), [(3, 0), (1, None)])
def test_a_trial_past_the_exploration_deadline_is_pruned_at_its_next_epoch_end(
    epochs: int, pruned_at: int | None
) -> None:
    """A deadline already past prunes after the first epoch; a trial's last epoch just completes."""
    import keras
    import numpy as np

    from cnnsearch.search._callbacks import PruningCallback

    trial = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner()).ask()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 2
    pruning = PruningCallback(trial, "val_accuracy", deadline=0.0)  # time.monotonic() is past 0
    history = model.fit(x, y, validation_data=(x, y), epochs=epochs, callbacks=[pruning], verbose=0).history
    assert pruning.pruned_epoch == pruned_at and pruning.deadline_hit is (pruned_at is not None)
    assert len(history["loss"]) == (1 if pruned_at is not None else epochs)
    keras.backend.clear_session()


def test_a_running_final_training_whose_worker_here_is_gone_is_an_orphan() -> None:
    """On PostgreSQL its retry comes only after Optuna's grace: a process here waits for it."""
    import os
    import subprocess
    import sys

    from cnnsearch._keys import OWNER_ATTR
    from cnnsearch.search._heartbeat import HOST

    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    study = optuna.create_study()
    study.enqueue_trial({}, user_attrs={FINAL_EPOCHS_ATTR: 30, FINAL_OF_ATTR: 0})
    trial = study.ask()
    trial.set_user_attr(OWNER_ATTR, {"host": HOST, "pid": os.getpid()})
    assert not final.orphaned_here(study)  # its worker (this process) is alive
    trial.set_user_attr(OWNER_ATTR, {"host": "elsewhere", "pid": gone})
    assert not final.orphaned_here(study)  # another machine's worker: its own machine retries it
    trial.set_user_attr(OWNER_ATTR, {"host": HOST, "pid": gone})
    assert final.orphaned_here(study)
    plain = study.ask()  # an exploring trial with a dead owner is not the final training
    plain.set_user_attr(OWNER_ATTR, {"host": HOST, "pid": gone})
    study.tell(trial, state=TrialState.FAIL)
    assert not final.orphaned_here(study)
