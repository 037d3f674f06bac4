"""A tiny study as its users meet it: MLflow's UI in headless Chromium, and the export served over HTTP.

One study (3 trials of 3 epochs) and one export to the registry are shared by both tests.
The browser test opens the pages the README shows and checks their rendered text; with
``CNNSEARCH_SCREENSHOTS=docs/images`` it also rewrites the README's screenshots. The serve
test starts ``cnnsearch serve`` on loopback and POSTs to ``/invocations``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from tests.e2e.conftest import Cli
from tests.helpers import SeedStore, SpecText

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# No network chatter, no sandbox (root in CI), no GPU: Chromium as a test renderer.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SEARCHED = {  # a brisk learning rate and a wider net: three epochs learn something worth a screenshot
    "learning_rate = { low = 1e-3, high = 1e-2, log = true }": "learning_rate = { low = 5e-3, high = 2e-2, log = true }",
    "filters = { choices = [8, 16] }": "filters = { choices = [16, 32] }",
}


@pytest.fixture(scope="module")
def study(tiny_spec_text: SpecText, seed_store: SeedStore, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A study (3 trials) and its export to the registry (`best --export --formats keras`, the kept checkpoint).

    In this process, through the API the CLI calls (a CLI process each would add two TensorFlow start-ups).
    """
    from cnnsearch.api import export_best, run

    root = tmp_path_factory.mktemp("browse")
    seed_store(root)
    text = tiny_spec_text(n_trials=3, epochs=3, pruner="none", extra='\n[export]\nship = "checkpoint"\n')
    for searched, wider in SEARCHED.items():
        text = text.replace(searched, wider)
    (root / "tiny.toml").write_text(text)
    here = Path.cwd()
    os.chdir(root)  # mlruns/ and exports/ land in root, as for a user who runs the commands there
    try:
        run("tiny.toml", progress=False)
        card = export_best("tiny.toml", formats="keras", say=lambda line: None).card
    finally:
        os.chdir(here)
    return {"root": root, "card": card, "uri": card["mlflow"]["tracking_uri"]}


def _refuses_connections(port: int, timeout: float = 30) -> bool:
    """Whether nothing listens on the loopback port within ``timeout`` (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it"
)
def test_mlflow_ui_shows_the_trials_their_score_and_the_registered_version(
    study: dict, port: int, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import sync_playwright

    from cnnsearch.api import ui_command
    from cnnsearch.tracking import start_ui
    from cnnsearch.tracking._ui import stop_server
    from cnnsearch.tracking._views import experiment_url

    shots = Path(os.environ.get("CNNSEARCH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(study["uri"])
    experiment = client.get_experiment_by_name("tiny")
    assert experiment is not None
    trials = {
        r.data.tags["cnnsearch.trial"]: r
        for r in client.search_runs([experiment.experiment_id], "tags.`cnnsearch.kind` = 'trial'")
    }
    assert sorted(trials) == ["0", "1", "2"]
    best = trials[str(study["card"]["search"]["trial"])]

    # The UI as `cnnsearch ui` starts it (one worker, no job runner), answering before the browser comes.
    ui = start_ui(ui_command(study["uri"], "127.0.0.1", port), "127.0.0.1", port, "tiny")
    assert ui.experiment_id == experiment.experiment_id
    base = f"http://127.0.0.1:{port}"
    texts: dict[str, str] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 800})

            def show(url: str, ready: str, name: str, height: int) -> str:
                """Open a page, wait for a text, close the assistant panel, screenshot it, return its text."""
                page.set_viewport_size({"width": 1400, "height": height})
                page.goto(url)
                page.get_by_text(ready).first.wait_for(timeout=60_000)
                close = page.get_by_role("button", name="Close", exact=True)
                if close.count():
                    close.first.click()
                page.wait_for_timeout(2500)  # late parts settle for the picture (no idle event: the UI polls)
                page.screenshot(path=str(shots / name))
                return page.inner_text("body")

            # (a) The experiment: Model training, the saved view of the trials, best score first.
            texts["experiment"] = show(
                experiment_url(base, experiment.experiment_id), "3 matching runs", "mlflow-experiment.png", 700
            )
            # (b) The best trial's run page.
            texts["trial"] = show(
                f"{base}/#/experiments/{experiment.experiment_id}/runs/{best.info.run_id}?workflowType=machine_learning",
                "score_val_accuracy",
                "mlflow-trial.png",
                900,
            )
            # (c) The registered version.
            texts["version"] = show(
                f"{base}/#/models/tiny/versions/1?workflowType=machine_learning",
                "test_accuracy",
                "mlflow-model-version.png",
                1000,
            )
            browser.close()
    finally:
        stop_server(ui.process)
    (tmp_path / "page_texts.json").write_text(json.dumps(texts, indent=2))

    text = texts["experiment"]
    assert "Model training" in text and "cnnsearch trials" in text  # the runs, in the saved view
    assert "No data available" not in text  # not the GenAI overview of traces
    for number in trials:
        assert f"trial-{number} (complete)" in text
    assert "score_val_accuracy" in text and "cnnsearch.state" in text and "learning_rate" in text
    assert "Sort: score_val_accuracy" in text
    scores = [r.data.metrics["score_val_accuracy"] for r in trials.values()]
    assert text.index(f"trial-{best.data.tags['cnnsearch.trial']} (complete)") < min(
        text.index(f"trial-{n} (complete)") for n in trials if trials[n] is not best
    ), "the best score is listed first"
    assert max(scores) == best.data.metrics["score_val_accuracy"]

    text = texts["trial"]
    assert best.info.run_name in text and "score_val_accuracy" in text
    assert str(best.data.metrics["score_val_accuracy"]) in text  # the value the search used
    assert "cnnsearch.state" in text and "COMPLETE" in text

    text = texts["version"]
    card = study["card"]
    assert "Version 1" in text and "champion" in text
    assert f"Test accuracy {card['test']['accuracy']:.4f}" in text
    assert "test_accuracy" in text and f"{card['test']['accuracy']:.6f}" in text
    assert "spec_sha256" in text and f"trial {card['search']['trial']}" in text

    from PIL import Image

    for name, size in (("mlflow-experiment.png", 700), ("mlflow-trial.png", 900), ("mlflow-model-version.png", 1000)):
        with Image.open(shots / name) as image:
            assert image.size == (1400, size), name
            assert len(image.convert("RGB").getcolors(maxcolors=1400 * size) or []) > 100, name  # not blank


def _read_lines(stream: IO[str], lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def _post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_serve_answers_uint8_like_predict_and_refuses_floats_scaled_to_0_1(
    cli: Cli, study: dict, port: int, tmp_path: Path
) -> None:
    from PIL import Image

    from cnnsearch.api import predict
    from cnnsearch.data import load
    from cnnsearch.spec import load_spec

    root = study["root"]
    spec = load_spec(root / "tiny.toml")
    images = load(spec.data, spec.study.seed).x_test[:6]
    for i, image in enumerate(images):
        Image.fromarray(image[..., 0]).save(tmp_path / f"digit{i}.png")
    expected = [
        {row["class"]: row["probability"] for row in p.as_dict()["predictions"]}
        for p in predict(root / "exports" / "tiny", sorted(tmp_path.glob("digit*.png")), top=10)
    ]

    log = tmp_path / "serve.log"
    with log.open("w") as err:
        server = cli.popen("serve", "tiny.toml", "--port", str(port), cwd=root, stderr=err, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(server.stdout, lines), daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + 240
    while not any(line.startswith("Try:") for line in printed):
        try:
            printed.append(lines.get(timeout=1))
        except queue.Empty:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"cnnsearch serve printed {printed}; its log:\n{log.read_text()[-3000:]}")
    url = f"http://127.0.0.1:{port}/invocations"
    assert printed[0] == f"Serving model 'tiny' version 1 (alias champion) at {url}"
    assert printed[1].startswith("Input:  a batch of images shaped (N, 8, 8, 1) with pixel values 0-255 as uint8")

    # uint8 0-255, as JSON integers: the same probabilities as `cnnsearch predict` on the PNGs.
    status, answer = _post(url, {"inputs": images.tolist()})
    assert status == 200, answer
    served = np.asarray(answer["predictions"])
    assert served.shape == (6, 10)
    reference = np.asarray([[row[str(c)] for c in range(10)] for row in expected])
    np.testing.assert_allclose(served, reference, atol=1e-5)
    # The same pixels as floats 0-255 mean the same images.
    status, answer = _post(url, {"inputs": images.astype(np.float64).tolist()})
    assert status == 200 and np.allclose(answer["predictions"], served, atol=1e-6)
    # Scaled to [0, 1]: refused with a sentence, not near-uniform garbage with HTTP 200.
    status, answer = _post(url, {"inputs": (images / 255.0).tolist()})
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert answer["message"].endswith("as if scaled to [0, 1]: send round(v * 255) instead")
    (tmp_path / "served.json").write_text(json.dumps({"uint8": served.tolist(), "float01": answer}, indent=2))

    # Stopped as a terminal or a supervisor stops it: SIGTERM to the group; the server goes with it.
    os.killpg(server.pid, signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    assert "stopped" in log.read_text().splitlines()
    assert _refuses_connections(port), f"uvicorn still listens on {port}"
    if sys.platform == "linux":
        assert _group_gone(server.pid), "a process of the server's group outlived it"


def _group_gone(pgid: int, timeout: float = 30) -> bool:
    """Whether every process of the group (mlflow models serve, uvicorn) has exited within ``timeout`` (/proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(stat.parent.name)
        if not alive:
            return True
        time.sleep(0.2)
    return False
