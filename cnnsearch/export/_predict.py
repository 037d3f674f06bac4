"""Predict with an exported model: images or folders in, top-k classes with probabilities out.

Each image is converted to the model's input as its card says (size, channels). A file
that can't be read gets its own error and the others are still predicted.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnsearch.data import IMAGE_SUFFIXES, BadFile, decode
from cnnsearch.errors import CnnsearchError, DataError, first_line
from cnnsearch.export._card import read_card
from cnnsearch.export._formats import FORMATS


@dataclass
class Prediction:
    """One file's result: its top classes, or why it could not be predicted."""

    file: str
    top: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, "predictions": [{"class": c, "probability": p} for c, p in self.top]}


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their image files (sorted, recursively); missing paths kept to report."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                files.append(path)  # reported as "no images" below
            files.extend(found)
        else:
            files.append(path)
    return files


class Predictor:
    """An export directory's Keras model plus its card."""

    def __init__(self, directory: Path) -> None:
        import keras

        self.card = read_card(directory)
        model_path = directory / FORMATS["keras"].filename
        if not model_path.is_file():
            raise CnnsearchError(f"{directory}: no {model_path.name} in this export")
        if not zipfile.is_zipfile(model_path):  # Keras would call it "File not found"
            raise CnnsearchError(f"{model_path}: not a Keras model (a .keras file is a zip archive); export it again")
        try:
            self.model = keras.models.load_model(model_path)
        except Exception as exc:  # noqa: BLE001 - a damaged archive fails in many ways inside Keras
            raise CnnsearchError(f"{model_path}: cannot load the Keras model: {first_line(exc)}") from None
        self.classes: list[str] = list(self.card["classes"])
        height, width, channels = self.card["input"]["shape"]
        self.size = (int(height), int(width))
        self.channels = int(channels)

    def prepare(self, path: Path) -> np.ndarray:
        """One file as the model's input (1, H, W, C) uint8; DataError naming the file if it can't be."""
        if path.is_dir():
            raise DataError(f"{path}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.stat().st_size == 0:  # not "not an image": nothing was written to it at all
            raise DataError(f"{path}: empty file (0 bytes)")
        try:
            decoded = decode(path, self.size, self.channels)  # as the decode cache does: a JPEG at 1/2-1/8 size
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
        if isinstance(decoded, BadFile):
            raise DataError(f"{path}: {decoded.reason}")
        return decoded.image[None]

    def predict(self, paths: list[Path], k: int = 3) -> list[Prediction]:
        """Top-k per file; unreadable files get an error and do not stop the rest."""
        k = max(1, min(k, len(self.classes)))
        results: list[Prediction] = []
        ready: list[tuple[Prediction, np.ndarray]] = []
        for path in expand(paths):
            result = Prediction(str(path))
            results.append(result)
            try:
                ready.append((result, self.prepare(path)))
            except DataError as exc:
                result.error = str(exc).removeprefix(f"{path}: ")
        if ready:
            batch = np.concatenate([image for _, image in ready])
            probs = np.asarray(self.model.predict(batch, batch_size=256, verbose=0))
            for (result, _), row in zip(ready, probs):
                order = np.argsort(row)[::-1][:k]
                result.top = [(self.classes[i], float(row[i])) for i in order]
        return results
