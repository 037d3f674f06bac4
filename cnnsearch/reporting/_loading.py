"""An image folder's loading on the console: the decode pass as a task on the trial display's
progress bars (``cnnsearch.data.LoadProgress``: files done out of all, images per second and
the time left, in the trial display's columns), then what was skipped.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.progress import Progress, TaskID

from cnnsearch.data import FolderSource, describe_bad


class LoadBar:
    """Files decoded so far, as one more bar on ``progress`` (removed when the pass ends)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._task: TaskID | None = None
        self._started = 0.0
        self._total = 0

    def start(self, total: int) -> None:
        self._started, self._total = time.perf_counter(), total
        self._task = self.progress.add_task("images", total=total, info="decoding")

    def advance(self, done: int) -> None:
        if self._task is None:
            return
        seconds = max(time.perf_counter() - self._started, 1e-6)
        rate = done / seconds
        left = (self._total - done) / rate if rate > 0 else 0.0
        self.progress.update(self._task, completed=done, info=f"{rate:,.0f} images/s  {_clock(left)} left")

    def finish(self) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def data_notes(source: FolderSource | None, listed: Path | None) -> list[str]:
    """What the console says after an image folder loaded: skipped files, duplicates moved out of test,
    streaming."""
    if source is None:
        return []
    notes = [describe_bad(source.bad, source.files, listed)] if source.bad else []
    if source.duplicates_moved:
        notes.append(
            f"Moved {source.duplicates_moved} test images that are exact copies of training images to the "
            "training side, so no image is scored that was trained on."
        )
    if source.streamed:
        notes.append(f"Training streams the images from the decode cache: {source.streamed_because}.")
    return notes
