"""k-fold cross-validation splits of the training pool: a partition, stratified, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from cnnsearch.data import Splits, cross_validation_folds, load
from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec


@pytest.fixture(scope="module")
def splits() -> Splits:
    return load(DataSpec(dataset="digits", validation_split=0.15, test_split=0.2), seed=0)


def _keys(x: np.ndarray) -> list[bytes]:
    return [image.tobytes() for image in x]


def test_one_fold_is_the_validation_split_itself(splits: Splits) -> None:
    assert cross_validation_folds(splits, 1, seed=0) == [splits]


def test_folds_partition_train_plus_validation_and_leave_test_alone(splits: Splits) -> None:
    folds = cross_validation_folds(splits, 4, seed=0)
    pool = sorted(_keys(np.concatenate([splits.x_train, splits.x_val])))
    assert len(folds) == 4
    validated: list[bytes] = []
    for fold in folds:
        assert sorted(_keys(np.concatenate([fold.x_train, fold.x_val]))) == pool
        assert len(fold.x_train) + len(fold.x_val) == len(pool)
        assert fold.x_test is splits.x_test and fold.y_test is splits.y_test
        assert fold.class_names == splits.class_names
        validated += _keys(fold.x_val)
    assert sorted(validated) == pool  # every image is validated on exactly once


def test_folds_are_stratified_and_seeded(splits: Splits) -> None:
    folds = cross_validation_folds(splits, 5, seed=3)
    counts = np.array([np.bincount(f.y_val, minlength=10) for f in folds])
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1  # each class spread evenly over the folds
    again = cross_validation_folds(splits, 5, seed=3)
    other = cross_validation_folds(splits, 5, seed=4)
    assert all(np.array_equal(a.y_val, b.y_val) and np.array_equal(a.x_val, b.x_val) for a, b in zip(folds, again))
    assert not all(np.array_equal(a.x_val, b.x_val) for a, b in zip(folds, other))


def test_a_class_too_small_to_stratify_falls_back_to_plain_folds(splits: Splits) -> None:
    rare = splits.y_train == 9
    keep = ~rare | (np.cumsum(rare) <= 1)  # one image of class 9 left in train, none in validation
    small = Splits(
        splits.x_train[keep],
        splits.y_train[keep],
        splits.x_val[splits.y_val != 9],
        splits.y_val[splits.y_val != 9],
        splits.x_test,
        splits.y_test,
        splits.class_names,
    )
    folds = cross_validation_folds(small, 3, seed=0)
    assert sum([len(f.x_val) for f in folds]) == len(small.x_train) + len(small.x_val)


def test_too_few_images_for_the_folds_is_a_data_error(splits: Splits) -> None:
    tiny = Splits(
        splits.x_train[:3],
        splits.y_train[:3],
        splits.x_val[:2],
        splits.y_val[:2],
        splits.x_test,
        splits.y_test,
        splits.class_names,
    )
    with pytest.raises(DataError, match="study.folds: 5 training images are too few for 3 folds"):
        cross_validation_folds(tiny, 3, seed=0)
