"""INTERIM (digits only) until the full loader lands."""
from __future__ import annotations
from dataclasses import dataclass
import numpy as np
from cnnsearch.spec import DataSpec

@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    @property
    def input_shape(self): return tuple(self.x_train.shape[1:])
    @property
    def num_classes(self): return len(self.class_names)

def load(data: DataSpec, seed: int) -> Splits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = np.round(d.images * 255 / 16).astype("uint8")[..., None]
    y = d.target.astype("int64")
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=data.test_split, stratify=y, random_state=seed)
    if data.max_train_samples and data.max_train_samples < len(xtr):
        xtr, _, ytr, _ = train_test_split(xtr, ytr, train_size=data.max_train_samples, stratify=ytr, random_state=seed)
    xtr, xva, ytr, yva = train_test_split(xtr, ytr, test_size=data.validation_split, stratify=ytr, random_state=seed)
    return Splits(xtr, ytr, xva, yva, xte, yte, [str(i) for i in range(10)])
