"""Ctrl-C (and SIGTERM) during a search, acted on at safe points only.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
TensorFlow that can be a weakref callback (the interrupt is printed and lost), an
op that turns it into an AssertionError (the trial fails and the study goes on), or
a C++ call left half done (a crash at exit). So while trials run, the first signal
only records the request; the trial loop and a Keras callback (``callbacks.SafePoint``)
raise KeyboardInterrupt before the next batch or between trials, where the usual
cleanup (trial FAIL in Optuna, run KILLED in MLflow) runs. A second signal raises at once, for when the
safe point is far away.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

#: Signals that stop a search cleanly.
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_requested = False


def requested() -> bool:
    """True once a stop was asked for inside :func:`deferred`."""
    return _requested


def check() -> None:
    """Raise KeyboardInterrupt if a stop was asked for: call this only where stopping is safe."""
    if _requested:
        raise KeyboardInterrupt


def now(signum: int, frame: Any) -> None:
    """A signal handler for outside trials (start-up, the supervisor): SIGTERM acts like Ctrl-C."""
    raise KeyboardInterrupt


def _handle(signum: int, frame: Any) -> None:
    global _requested
    if _requested:
        raise KeyboardInterrupt  # asked twice: now
    _requested = True
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    sys.stderr.write(f"\n{name}: stopping before the next batch (press Ctrl-C again to stop at once)\n")
    sys.stderr.flush()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within this block, SIGINT and SIGTERM ask for a stop at the next :func:`check`."""
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; nothing to defer here
        return
    previous = {signum: signal.signal(signum, _handle) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _requested = False
