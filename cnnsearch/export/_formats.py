"""Export formats: write an inference model, reload what was written, and predict with it.

Each format is a pair of functions, ``write(model, directory) -> path`` and
``predict(path, images) -> probabilities``, so an export can check every artifact
against the in-memory model right after writing it.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnsearch.errors import CnnsearchError, first_line

if TYPE_CHECKING:  # Keras loads only when a format is written or read: `best` without --export stays light
    import keras


class ExportError(CnnsearchError):
    """An artifact could not be written, or it disagrees with the model it came from."""


#: Prediction batch size for reloaded artifacts (LiteRT and ONNX run a batch per call).
BATCH = 256
#: An artifact agrees when no probability differs by more than this ...
MAX_PROB_DIFF = 1e-3
#: ... and its test accuracy is within this many points of the in-memory model's (0.5 pp).
MAX_ACCURACY_DIFF = 0.005


@dataclass(frozen=True)
class Format:
    name: str
    filename: str
    write: Callable[[keras.Model, Path], None]
    predict: Callable[[Path, np.ndarray], np.ndarray]
    needs: str  # the Python module it needs, for a clear error when missing


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Converters print progress and warnings of their own (some from C++); keep them out of the console."""
    from cnnsearch._runtime import silenced_stderr

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), silenced_stderr():
        warnings.simplefilter("ignore")
        yield


# --- .keras ------------------------------------------------------------------------


def _write_keras(model: keras.Model, path: Path) -> None:
    model.save(path)


def _predict_keras(path: Path, images: np.ndarray) -> np.ndarray:
    import keras

    reloaded = keras.models.load_model(path)  # no custom objects: the model uses only built-in layers
    return np.asarray(reloaded.predict(images, batch_size=BATCH, verbose=0))


# --- TensorFlow SavedModel ---------------------------------------------------------------


def _write_saved_model(model: keras.Model, path: Path) -> None:
    with _quiet():
        model.export(str(path), format="tf_saved_model", verbose=False)


def _predict_saved_model(path: Path, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    served = tf.saved_model.load(str(path))
    batches = [served.serve(tf.constant(images[i : i + BATCH])).numpy() for i in range(0, len(images), BATCH)]
    return np.concatenate(batches)


# --- ONNX --------------------------------------------------------------------------------


def _write_onnx(model: keras.Model, path: Path) -> None:
    with _quiet():
        model.export(str(path), format="onnx", verbose=False)


def _predict_onnx(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batches = [session.run(None, {name: images[i : i + BATCH]})[0] for i in range(0, len(images), BATCH)]
    return np.concatenate(batches)


# --- LiteRT (.tflite) ------------------------------------------------------------------


def _write_tflite(model: keras.Model, path: Path) -> None:
    with _quiet():
        model.export(str(path), format="litert", verbose=False)


def tflite_interpreter(path: Path) -> object:
    """LiteRT's own interpreter when installed, else TensorFlow's (deprecated but still shipped)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Interpreter(model_path=str(path))


def _predict_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    with _quiet():  # LiteRT announces its CPU delegate from C++
        return _run_tflite(path, images)


def _run_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    interpreter = tflite_interpreter(path)
    source = interpreter.get_input_details()[0]["index"]  # type: ignore[attr-defined]
    target = interpreter.get_output_details()[0]["index"]  # type: ignore[attr-defined]
    batches = []
    for i in range(0, len(images), BATCH):
        batch = images[i : i + BATCH]
        interpreter.resize_tensor_input(source, list(batch.shape))  # type: ignore[attr-defined]
        interpreter.allocate_tensors()  # type: ignore[attr-defined]
        interpreter.set_tensor(source, batch)  # type: ignore[attr-defined]
        interpreter.invoke()  # type: ignore[attr-defined]
        batches.append(np.array(interpreter.get_tensor(target)))  # type: ignore[attr-defined]
    return np.concatenate(batches)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("keras", "model.keras", _write_keras, _predict_keras, "keras"),
        Format("saved_model", "saved_model", _write_saved_model, _predict_saved_model, "tensorflow"),
        Format("onnx", "model.onnx", _write_onnx, _predict_onnx, "onnxruntime"),
        Format("tflite", "model.tflite", _write_tflite, _predict_tflite, "tensorflow"),
    )
}


def parse_formats(text: str) -> list[str]:
    """'keras,onnx' -> ['keras', 'onnx']; 'all' -> every format; unknown names are an error."""
    names = list(FORMATS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise CnnsearchError(
            f"--formats: unknown format {unknown[0] if unknown else text!r}; choose from {', '.join(FORMATS)} or all"
        )
    return names


def check_available(names: list[str]) -> None:
    """Fail before retraining when a format's converter or runtime is missing, or the backend can't export it."""
    import importlib.util

    import keras

    for name in names:
        needed = FORMATS[name].needs
        if importlib.util.find_spec(needed) is None:
            raise ExportError(
                f"format '{name}' needs the Python package '{needed}': pip install {needed}, or leave it out of --formats"
            )
        if name != "keras" and keras.backend.backend() != "tensorflow":
            raise ExportError(
                f"format '{name}' is exported through TensorFlow; the Keras backend is '{keras.backend.backend()}' "
                "(set KERAS_BACKEND=tensorflow, or use --formats keras)"
            )


@dataclass(frozen=True)
class Agreement:
    """How a reloaded artifact's test predictions compare with the in-memory model's."""

    format: str
    path: str
    accuracy: float
    reference_accuracy: float
    accuracy_diff: float
    max_prob_diff: float
    label_agreement: float

    @property
    def ok(self) -> bool:
        return self.max_prob_diff <= MAX_PROB_DIFF and self.accuracy_diff <= MAX_ACCURACY_DIFF


def compare(name: str, path: Path, probs: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> Agreement:
    """Compare one artifact's probabilities with the reference's on the same images."""
    if probs.shape != reference.shape:
        raise ExportError(f"{name}: reloaded model returns shape {probs.shape}, expected {reference.shape}")
    accuracy = float(np.mean(probs.argmax(1) == labels))
    reference_accuracy = float(np.mean(reference.argmax(1) == labels))
    return Agreement(
        format=name,
        path=str(path),
        accuracy=accuracy,
        reference_accuracy=reference_accuracy,
        accuracy_diff=abs(accuracy - reference_accuracy),
        max_prob_diff=float(np.max(np.abs(probs - reference))) if probs.size else 0.0,
        label_agreement=float(np.mean(probs.argmax(1) == reference.argmax(1))) if len(probs) else 1.0,
    )


def write_and_verify(
    name: str, model: keras.Model, directory: Path, images: np.ndarray, labels: np.ndarray, reference: np.ndarray
) -> Agreement:
    """Write one format, reload it, predict the test images and fail loudly if it disagrees."""
    fmt = FORMATS[name]
    path = directory / fmt.filename
    try:
        fmt.write(model, path)
        probs = fmt.predict(path, images)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - converters raise anything; name the format and the cause
        first = first_line(exc)
        raise ExportError(f"{name}: export failed ({type(exc).__name__}: {first[:300]})") from exc
    agreement = compare(name, path, probs, reference, labels)
    if not agreement.ok:
        raise ExportError(
            f"{name}: reloaded {path.name} disagrees with the trained model on the test set "
            f"(max probability difference {agreement.max_prob_diff:.2e}, accuracy {agreement.accuracy:.4f} "
            f"vs {agreement.reference_accuracy:.4f}); not exported"
        )
    return agreement
