"""Which trials an ensemble takes: the best with kept weights, and a final training alone."""

from __future__ import annotations

from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, create_trial

from cnnsearch._keys import FINAL_EPOCHS_ATTR, FINAL_OF_ATTR, FINAL_SEED_OF_ATTR
from cnnsearch.export._shipping import ensemble_members


def _trial(number: int, value: float, final: bool = False, **marks: int) -> FrozenTrial:
    trial = create_trial(
        value=value,
        params={"dropout": 0.1},
        distributions={"dropout": FloatDistribution(0.0, 0.5)},
        user_attrs={FINAL_EPOCHS_ATTR: 40, **marks} if final else {},
    )
    trial.number = number
    return trial


def test_the_best_trials_with_kept_weights_make_the_ensemble() -> None:
    ranked = [_trial(4, 0.9), _trial(2, 0.8), _trial(7, 0.7), _trial(1, 0.6)]
    members, note = ensemble_members(ranked, kept_numbers={4, 7, 1}, size=3)
    assert [t.number for t in members] == [4, 7, 1] and note is None  # trial 2 kept no weights


def test_a_final_training_at_the_top_ships_alone() -> None:
    ranked = [_trial(9, 0.9, final=True), _trial(0, 0.8), _trial(3, 0.7)]
    members, note = ensemble_members(ranked, kept_numbers={9, 0, 3}, size=3)
    assert [t.number for t in members] == [9]
    assert note is not None and "Trial 9 is the final training (until the study's deadline)" in note


def test_a_final_training_that_is_not_the_best_is_one_member_among_others() -> None:
    ranked = [_trial(0, 0.9), _trial(9, 0.8, final=True), _trial(3, 0.7)]
    members, note = ensemble_members(ranked, kept_numbers={9, 0, 3}, size=3)
    assert [t.number for t in members] == [0, 9, 3] and note is None
    # The checkpoint rule (size 1) is the best trial whatever it is.
    assert [t.number for t in ensemble_members(ranked, {9, 0, 3}, size=1)[0]] == [0]


def test_a_final_training_and_its_other_seeds_ship_together() -> None:
    """study.final_others = "seeds": the trainings beside the final one are its ensemble, nothing else."""
    of = {FINAL_OF_ATTR: 2}
    ranked = [
        _trial(11, 0.93, final=True, **of, **{FINAL_SEED_OF_ATTR: 10}),
        _trial(2, 0.92),  # the winner of the exploration, 5 epochs: not a member
        _trial(10, 0.91, final=True, **of),
        _trial(12, 0.90, final=True, **of, **{FINAL_SEED_OF_ATTR: 10}),
    ]
    members, note = ensemble_members(ranked, kept_numbers={11, 2, 10, 12}, size=3)
    assert [t.number for t in members] == [11, 10, 12]
    assert note is not None and "Trials 11, 10, 12 are the final training and the same params" in note
    assert [t.number for t in ensemble_members(ranked, {11, 2, 10, 12}, size=2)[0]] == [11, 10]
    assert [t.number for t in ensemble_members(ranked, {11, 2, 12}, size=3)[0]] == [11, 12]  # 10 kept none
    assert [t.number for t in ensemble_members(ranked, {11, 2, 10, 12}, size=1)[0]] == [11]  # checkpoint rule
