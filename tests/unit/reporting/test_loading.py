"""The decode pass's progress bar and the lines said after an image folder loaded."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TextColumn

from cnnsearch.data import BadFile, FolderSource
from cnnsearch.reporting import LoadBar, data_notes


def test_load_bar_shows_rate_and_time_left_then_goes() -> None:
    progress = Progress(TextColumn("{task.fields[info]}"), console=Console(file=io.StringIO()))
    bar = LoadBar(progress)
    bar.start(100)
    (task,) = progress.tasks
    assert task.total == 100 and task.fields["info"] == "decoding"
    bar.advance(40)
    assert task.completed == 40 and "images/s" in task.fields["info"] and task.fields["info"].endswith(" left")
    bar.finish()
    assert progress.tasks == []


def test_data_notes_name_skipped_files_and_moved_duplicates(tmp_path: Path) -> None:
    bad = tuple(BadFile(tmp_path / f"{i}.jpg", "empty file") for i in range(7))
    source = FolderSource(tmp_path, "k" * 32, 50, bad, False, (64, 64), 3, duplicates_moved=2)
    skipped, moved = data_notes(source, tmp_path / "bad_files.txt")
    assert skipped.startswith("Skipped 7 of 50 image files that cannot be read: ")
    assert "4.jpg (empty file); and 2 more (full list: " in skipped and "5.jpg" not in skipped
    assert moved.startswith("Moved 2 test images that are exact copies of training images")
    clean = FolderSource(tmp_path, "k" * 32, 50, (), True, (64, 64), 3)
    assert data_notes(clean, None) == [] and data_notes(None, None) == []
