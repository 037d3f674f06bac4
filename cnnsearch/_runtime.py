"""Process set-up before Keras loads: quiet TensorFlow's start-up noise."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines bypass Python logging."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_keras() -> str:
    """Import Keras (and its backend) quietly; return the backend's name."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with silenced_stderr():
        import keras

        # Keras' data adapters import TensorFlow even on other backends: load it here, silenced.
        if importlib.util.find_spec("tensorflow") is not None:
            import tensorflow  # noqa: F401

    logging.getLogger("absl").setLevel(logging.ERROR)
    return keras.backend.backend()
