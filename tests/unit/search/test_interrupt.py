"""Ctrl-C during a search is deferred to a safe point; a second press stops at once."""

from __future__ import annotations

import os
import signal

import pytest

from cnnsearch.search import _interrupt as interrupt


def test_first_signal_is_deferred_second_raises_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupt.deferred():
        interrupt.check()  # nothing asked yet
        os.kill(os.getpid(), signal.SIGTERM)  # recorded, not raised
        assert interrupt.requested()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # asked twice: now
    assert not interrupt.requested()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
