"""``python -m cnnsearch``: the CLI without the console script (e.g. on the GPU machine)."""

from cnnsearch.cli import app

app()
