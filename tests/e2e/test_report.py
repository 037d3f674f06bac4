"""`cnnsearch report` end to end: a tiny study, the HTML page, and a real headless Chromium rendering it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from cnnsearch.training import LABELS
from tests.e2e.conftest import Cli
from tests.helpers import SeedStore, SpecText, run_in

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
COLUMNS = 80  # the terminal these tests read the CLI's tables in


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium, isolated profile, no network chatter; JS gets virtual time to run."""
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--hide-scrollbars", "--virtual-time-budget=10000", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def reported(
    cli: Cli, tiny_spec_text: SpecText, seed_store: SeedStore, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """One tiny study (4 trials, 3 epochs) and its report, shared by the tests below."""
    root = tmp_path_factory.mktemp("report")
    seed_store(root)
    spec = root / "tiny.toml"
    spec.write_text(tiny_spec_text(n_trials=4, epochs=3, pruner="none"))
    run_in(root, spec)  # the subject is the report: the search runs in this process
    result = cli("report", str(spec), "--out", "out/report.html", "--top", "2", cwd=root, columns=COLUMNS)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("wrote out/report.html (") and "4 trials" in result.stdout
    return root


def test_trials_lists_a_diagnosis_per_trial_and_fits_80_columns(cli: Cli, reported: Path) -> None:
    csv = cli("trials", "tiny.toml", "--format", "csv", cwd=reported, columns=COLUMNS)
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 4 and set(frame["diagnosis"]) <= set(LABELS)
    assert (frame["tracking_s"] > 0).all()
    lines = cli("trials", "tiny.toml", cwd=reported, columns=COLUMNS).stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and all(line == line.rstrip() for line in lines)
    assert [line.split()[0] for line in lines[2:6]] == ["0", "1", "2", "3"]  # one line per trial
    assert "lr" in lines[1].split() and "lr=learning_rate" in "\n".join(lines[6:])  # a short name, explained
    wide = cli("trials", "tiny.toml", "--wide", cwd=reported, columns=COLUMNS).stdout.splitlines()
    assert len(wide) == 6 and "learning_rate" in wide[1].split()
    for label, line in zip(frame["diagnosis"], wide[2:]):
        assert label in line.split()


def test_report_is_one_self_contained_page(reported: Path) -> None:
    page = (reported / "out" / "report.html").read_text()
    assert not re.search(r"""<(script|img|link)[^>]+(src|href)=["']?(https?:|//)""", page)  # nothing fetched
    assert page.count("src='data:image/png;base64,") == 2  # the top two trials' curves
    for label in LABELS:  # the diagnosis summary has a row per label
        assert f"<span class='tag {label}'>{label}</span>" in page
    for title in ("Study tiny", "Diagnosis", "Study plots", "Top 2 trials", "All trials"):
        assert title in page
    assert "These importances are uncertain: only 4 complete trials (under 20);" in page


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it"
)
def test_report_renders_in_headless_chromium(reported: Path, tmp_path: Path) -> None:
    url = (reported / "out" / "report.html").as_uri()
    dom = chromium("--dump-dom", url, profile=tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    # plotly.js ran and drew every study plot into SVG; the curve images decoded.
    assert dom.stdout.count('class="main-svg"') >= 5
    assert "Optimization History Plot" in dom.stdout

    shot = tmp_path / "report.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,1600", url, profile=tmp_path / "profile")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        # maxcolors = every pixel: getcolors() cannot give up (None) and always counts.
        colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    assert colours is not None
    assert len(colours) > 200  # plots and text, not a blank page
