"""The shipped ``search_spaces/folder.toml`` on a generated, skewed image folder, end to end: a
search whose first line says what ``metric = "auto"`` picked, then an export with test-time
flips (its first trial trains with horizontal flips) whose four formats reload and agree, and
whose card leads with the balanced figures; two broken files among the images are named by
``validate`` and by the run, and skipped. The search runs in two worker processes, which stream
the folder (oversampled, as the spec asks) from its one decode cache. Behaviour, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "search_spaces" / "folder.toml"


def _folder(root: Path) -> Path:
    """3 classes of 14, 14 and 6 RGB images (skewed), mostly 20 x 20 and some 24 x 24 (resized to the common size)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True)
        for i in range(6 if name == "blue" else 14):
            side = 24 if i % 5 == 0 else 20
            pixels = rng.integers(0, 90, (side, side, 3))
            pixels[:, : side // 2, c] += 150  # the class's colour on the left half: mirrors differ
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_folder_spec_searches_and_exports_with_test_time_flips(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    images = _folder(tmp_path / "images")
    sets = [
        f"data.path={images}",
        "study.n_trials=2",
        "study.final_share=0",
        "study.startup_trials=1",
        "train.epochs=1",
        "study.keep_top_k=1",
    ]
    args = [a for s in sets for a in ("--set", s)]
    (images / "red" / "empty.png").write_bytes(b"")  # broken files: skipped and named, the rest trains
    (images / "green" / "notes.jpg").write_text("not a photo")
    checked = cli("validate", str(SPEC), *args, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "36 image files in 3 classes, read as 20x20x3" in checked.stderr  # the header scan, before training
    assert "Skipped 2 of 36 image files" in checked.stderr and "notes.jpg (not an image)" in checked.stderr
    # The search through the API the CLI calls, supervised from this process; `validate` above and the
    # export below are the CLI's.
    from cnnsearch.api import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")  # the console's width, as the CLI tests' terminal
    capsys.readouterr()
    run(SPEC, overrides=sets, workers=2)  # two worker processes: the folder streams from one shared cache
    out, err = capsys.readouterr()
    said = " ".join((out + err).split())
    assert "Skipped 2 of 36 image files that cannot be read" in said and "empty.png (empty file)" in said
    assert "Training streams the images from the decode cache: one copy shared by the worker processes." in said
    listed = (tmp_path / "mlruns" / "logs" / "folder-cnn" / "bad_files.txt").read_text().splitlines()
    assert sorted(line.split("\t")[1] for line in listed) == ["empty file", "not an image"]
    first = out.strip().splitlines()[0]
    assert first.startswith('study.metric = "auto": val_balanced_accuracy, the training split is imbalanced'), first
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("folder-cnn")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    trial_runs = [r for r in runs if "score_val_balanced_accuracy" in r.data.metrics]
    assert trial_runs, [r.data.metrics for r in runs]
    for key in ("val_balanced_accuracy", "val_macro_f1"):  # MLflow's per-epoch metrics, one point per epoch
        assert len(client.get_metric_history(trial_runs[0].info.run_id, key)) == 1
    exported = cli(
        "best",
        str(SPEC),
        *args,
        *("--export", "--formats", "keras", "--set", "export.test_time_flips=on"),
        *("--set", "data.memory_limit=1KB"),  # the test split streamed: the format check reads it in order
        cwd=tmp_path,
    )
    assert exported.returncode == 0, exported.stderr
    assert "Test-time flips: the mean of each image and its mirror" in exported.stderr + exported.stdout
    card = json.loads((tmp_path / "exports" / "folder-cnn" / "model_card.json").read_text())
    assert card["shipped"]["test_time_flips"] is True
    assert card["shipped"]["description"].endswith("with test-time flips")
    assert card["input"]["shape"] == [20, 20, 3]
    assert [e["format"] for e in card["exports"]] == ["keras"]  # every format with flips: tests/unit/export/
    assert all(e["max_prob_diff"] < 1e-3 for e in card["exports"])
    markdown = (tmp_path / "exports" / "folder-cnn" / "model_card.md").read_text()
    assert "Test-time flips (`[export] test_time_flips`)" in markdown
    assert card["search"]["metric"] == "val_balanced_accuracy" and card["test"]["lead"] == "balanced_accuracy"
    assert markdown.index("| balanced accuracy (mean per-class recall) |") < markdown.index("| accuracy |")
    assert "Test balanced accuracy" in exported.stdout + exported.stderr
