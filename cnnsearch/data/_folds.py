"""k-fold cross-validation splits of the training pool (train + validation); test stays out.

With a validation set of a few hundred images one image moves the score by half a
point, so a single split often picks the luckiest trial, not the best one. Folds
give each trial k validation figures on disjoint images; their mean is the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from cnnsearch.data._datasets import Splits
from cnnsearch.errors import DataError


class Folds:
    """``k`` Splits over train + validation: fold ``i`` validates on the i-th stratified part.

    Stratified when every class has at least ``k`` images, plain shuffled folds otherwise.
    Fold order and content depend only on the data and ``seed``, so every trial and every
    worker sees the same folds. A fold's arrays are built when asked for: one copy of the
    pool is held, not ``k``.
    """

    def __init__(self, splits: Splits, k: int, seed: int) -> None:
        from sklearn.model_selection import KFold, StratifiedKFold

        self.splits = splits
        self.x = np.concatenate([splits.x_train, splits.x_val])
        self.y = np.concatenate([splits.y_train, splits.y_val])
        if len(self.x) < 2 * k:
            raise DataError(f"study.folds: {len(self.x)} training images are too few for {k} folds")
        smallest = int(np.bincount(self.y, minlength=splits.num_classes).min())
        splitter = (StratifiedKFold if smallest >= k else KFold)(n_splits=k, shuffle=True, random_state=seed)
        self.indices = list(splitter.split(self.x, self.y))

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Splits]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> Splits:
        train, val = self.indices[i]
        x, y = self.x, self.y
        return dataclasses.replace(self.splits, x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val])


def cross_validation_folds(splits: Splits, k: int, seed: int) -> Folds | list[Splits]:
    """The splits each trial trains on: the one validation split for ``k = 1``, else ``k`` folds."""
    return Folds(splits, k, seed) if k > 1 else [splits]
