"""The registered model's Python function: the Keras classifier behind a stated, checked input contract.

MLflow logs this file *as code* with the model (models from code), so a registered
version is self-contained: this file, the ``.keras`` file and MLflow's metadata,
served by ``mlflow models serve`` (or ``cnnsearch serve``) without cnnsearch installed.
It therefore imports nothing from cnnsearch.

Why not MLflow's Keras flavor: its signature would declare the input ``uint8``,
and MLflow's scoring server then casts a JSON request to that type before any model
code runs, so a float batch scaled to [0, 1] became all zeros and ones and came back
as near-uniform probabilities with HTTP 200. Without an input schema the server hands
the numbers over as sent, and :func:`check_images` accepts only what the network was
trained on: whole-number pixel values 0-255, any integer or float dtype. Everything
else is refused with one sentence (HTTP 400 from the server). The flavor's predict
also printed Keras progress bars to stdout; this one prints nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

#: ``context.artifacts`` key of the Keras model file.
KERAS_ARTIFACT = "keras_model"
#: Images per forward pass (``predict_on_batch``: no progress bar, no callbacks).
CHUNK = 256


class InputError(ValueError):
    """A batch the model must not be given: the sentence says what was wrong and what to send."""


def check_images(batch: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A batch of images of ``shape`` (H, W, C) with pixel values 0-255, as ``uint8``; InputError otherwise.

    Integers are taken as they are if within 0-255. Floats must be whole numbers in
    0-255 too (a JSON request's numbers arrive as floats when any has a decimal point);
    a float batch whose values all lie within [0, 1] (not all zero) is refused as
    scaled to [0, 1], the usual mistake, rather than read as an almost black image.
    """
    if hasattr(batch, "columns"):  # a pandas DataFrame: the server's dataframe_split / dataframe_records
        raise InputError(
            'send the images as a tensor, {"inputs": [[[[pixel, ...], ...], ...], ...]}, not as a DataFrame'
        )
    expected = f"(N, {', '.join(str(d) for d in shape)})"
    try:
        array = np.asarray(batch)
    except ValueError:  # ragged nested lists (NumPy 2 refuses to build them)
        raise InputError(f"images must be a batch shaped {expected}; the nested lists are ragged") from None
    if array.dtype == object:
        raise InputError(f"images must be a batch shaped {expected}; the nested lists are ragged")
    if array.ndim != len(shape) + 1 or array.shape[1:] != tuple(shape):
        raise InputError(f"images must be a batch shaped {expected}; got shape {array.shape}")
    kind = array.dtype.kind
    if kind not in "uif":
        raise InputError(f"pixel values must be numbers 0-255 (uint8); got {array.dtype}")
    if array.size == 0:
        return array.astype(np.uint8)
    if kind == "f" and not np.isfinite(array).all():
        raise InputError("pixel values must be numbers 0-255 (uint8); the batch holds NaN or infinity")
    low, high = array.min(), array.max()
    if kind == "f" and 0 <= low and high <= 1 and high > 0:
        raise InputError(
            f"pixel values must be 0-255 (uint8), as in training; this float batch lies within [0, 1] "
            f"(max {float(high):g}), as if scaled to [0, 1]: send round(v * 255) instead"
        )
    if low < 0 or high > 255:
        raise InputError(f"pixel values must be 0-255 (uint8); this batch spans {low:g} to {high:g}")
    if kind == "f" and not np.array_equal(array, np.round(array)):
        raise InputError("pixel values must be whole numbers 0-255 (uint8); this batch has fractions")
    return array.astype(np.uint8)


class ImageClassifier(PythonModel):
    """Class probabilities (N, classes) for a batch of uint8 images, from the exported Keras model."""

    def load_context(self, context: Any) -> None:
        import keras

        self.model = keras.models.load_model(context.artifacts[KERAS_ARTIFACT], compile=False)
        self.shape = tuple(int(d) for d in self.model.input_shape[1:])

    # ``np.ndarray``: a hint MLflow infers no input schema from (a list[...] hint would become one).
    def predict(self, context: Any, model_input: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
        try:
            images = check_images(model_input, self.shape)
        except InputError as exc:
            raise MlflowException.invalid_parameter_value(str(exc)) from None
        if not len(images):
            return np.zeros((0, int(self.model.output_shape[-1])), dtype=np.float32)
        chunks = [self.model.predict_on_batch(images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
        return np.concatenate([np.asarray(c) for c in chunks])


set_model(ImageClassifier())
