"""Two "machines" on one PostgreSQL study and one MLflow server, on loopback (issue 27).

Two working folders, A and B, each with its own ``mlruns/`` (so neither sees the other's
``mlruns/weights/``), run one study together: ``cnnsearch run SPEC`` in both at once, the
study in PostgreSQL (``--storage``), every run and kept weight on an ``mlflow server`` this
script starts (``--serve-artifacts``). Then each folder runs ``cnnsearch best SPEC --export
--formats keras``. Prints which folder ran the best trial, what each export said about its
weights, and both test accuracies. The last line is ``same_test_accuracy=<True|False>
retrained=<True|False>``: the export on the machine that did not run the best trial must
fetch its weights (no retrain) and test the same.

    eval "$(.ci/postgres start)"
    PYTHONPATH=. .venv/bin/python benchmarks/two_machines.py --storage "$CNNSEARCH_TEST_POSTGRES_URL"
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ["study.folds=1", "study.n_trials=6", "train.epochs=5", "study.keep_top_k=1", "study.final_share=0"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``mlflow server`` on loopback with proxied artifacts; waits for /health."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", (root / "artifacts").as_uri(),
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=os.environ.get("CNNSEARCH_TEST_POSTGRES_URL"), help="a PostgreSQL URL")
    parser.add_argument("--spec", type=Path, default=ROOT / "search_spaces" / "digits.toml")
    options = parser.parse_args()
    if not options.storage:
        raise SystemExit('--storage: give a PostgreSQL URL (eval "$(.ci/postgres start)" sets one)')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cli = [sys.executable, "-m", "cnnsearch"]
    name = f"machines-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="cnnsearch-machines-") as scratch:
        root = Path(scratch)
        (root / "server").mkdir()
        server, url = start_server(root / "server")
        try:
            sets = [
                *SETTINGS,
                f"study.name={name}",
                f"study.storage={options.storage}",
                f"tracking.tracking_uri={url}",
                f"tracking.experiment={name}",
            ]
            args = [arg for item in sets for arg in ("--set", item)]
            folders = {"A": root / "A", "B": root / "B"}
            for folder in folders.values():
                folder.mkdir()
            print(f"study {name}: {options.storage.split('@')[-1]}, MLflow {url}, settings {SETTINGS}")
            began = time.time()
            procs = {
                key: subprocess.Popen(
                    [*cli, "run", str(options.spec), *args], cwd=folder, env=env, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True,
                )
                for key, folder in folders.items()
            }  # fmt: skip
            for key, proc in procs.items():
                out, err = proc.communicate()
                if proc.returncode != 0:
                    raise SystemExit(f"run in {key} failed ({proc.returncode}): {err[-2000:]}")
            print(f"both runs done in {time.time() - began:.0f} s")
            probe = (
                "import json, sys\nfrom cnnsearch.search import load_study\nfrom cnnsearch.spec import load_spec\n"
                "s = load_study(load_spec(sys.argv[1], sys.argv[2:]))\n"
                "from cnnsearch._keys import OWNER_ATTR\n"
                "print(json.dumps({'best': s.best_trial.number, 'pid': s.best_trial.user_attrs[OWNER_ATTR]['pid'],"
                " 'states': [t.state.name for t in s.trials], 'value': s.best_value}))"
            )
            found = subprocess.run(
                [sys.executable, "-c", probe, str(options.spec), *sets],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
            )
            if found.returncode != 0:
                raise SystemExit(f"probe failed: {found.stderr[-2000:]}")
            study = json.loads(found.stdout.strip().splitlines()[-1])
            ran_best = next(key for key, proc in procs.items() if proc.pid == study["pid"])
            print(f"trials: {study['states']}; best: trial {study['best']} (val_accuracy {study['value']:.4f}), "
                  f"run by machine {ran_best}")  # fmt: skip
            accuracies: dict[str, float] = {}
            retrained = False
            for key in sorted(folders, key=lambda k: k != ran_best):  # the best trial's machine first
                exported = subprocess.run(
                    [*cli, "best", str(options.spec), *args, "--export", "--formats", "keras"],
                    cwd=folders[key], env=env, capture_output=True, text=True,
                )  # fmt: skip
                if exported.returncode != 0:
                    raise SystemExit(f"export in {key} failed: {exported.stderr[-2000:]}")
                said = [ln for ln in (exported.stdout + exported.stderr).splitlines() if ln.strip()]
                print(f"== machine {key}{' (ran the best trial)' if key == ran_best else ''}: best --export")
                for line in said:
                    if any(w in line for w in ("Weights", "Fetched", "Shipping", "Test accuracy", "etrain")):
                        print(line)
                retrained = retrained or any("etrain" in line for line in said)
                card = json.loads(next((folders[key] / "exports").glob("*/model_card.json")).read_text())
                accuracies[key] = float(card["test"]["accuracy"])
            same = len(set(accuracies.values())) == 1
            print(f"same_test_accuracy={same} retrained={retrained}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
