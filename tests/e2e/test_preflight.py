"""What ``run`` needs, checked before it trains, as the user meets it: the CLI in a fresh process
against a real read-only mount and a loopback port nothing listens on. One ``error:`` line, exit 1,
nothing stored changed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.slow

SPEC = '[study]\nname = "tiny"\nn_trials = 1\n\n[data]\ndataset = "digits"\n'
HINT = " (cnnsearch's local store, mlruns/ in the working folder: move it aside, or run elsewhere)"


def _read_only(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``cnnsearch ARGS`` in ``folder`` re-mounted read-only, in a private mount namespace (gone when it exits)."""
    here = shlex.quote(str(folder))
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "cnnsearch", *args])
    script = f"mount --bind {here} {here} && mount -o remount,bind,ro {here} {here} && cd {here} && exec {command}"
    return subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def read_only_mounts(tmp_path: Path) -> None:
    """Skip where this machine cannot make a read-only bind mount without privileges."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here")
    probe = tmp_path / "probe"
    probe.mkdir()
    here = shlex.quote(str(probe))
    script = f"mount --bind {here} {here} && mount -o remount,bind,ro {here} {here} && ! touch {here}/x 2>/dev/null"
    if subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True).returncode:
        pytest.skip("no unprivileged read-only bind mounts here (user namespaces disabled?)")


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_store_on_a_read_only_file_system(cli: Cli, tmp_path: Path, read_only_mounts: None) -> None:
    folder = tmp_path / "work"
    (folder / "mlruns" / "studies").mkdir(parents=True)
    (folder / "tiny.toml").write_text(SPEC)
    journal = folder / "mlruns" / "studies" / "tiny.journal"
    journal.write_text('{"op_code": 0, "worker_id": "w", "study_name": "tiny", "directions": [1]}\n')
    before = journal.read_bytes()
    for command in ("validate", "run"):
        line = _one_line(_read_only(folder, command, "tiny.toml", env=cli.env))
        assert line == "error: 'mlruns' is on a read-only file system" + HINT, command
    line = _one_line(_read_only(folder, "trials", "tiny.toml", env=cli.env))
    assert line == (
        "error: 'mlruns/studies' is on a read-only file system; Optuna opens a journal for appending, "
        "even to read it" + HINT
    )
    assert journal.read_bytes() == before
    assert sorted(p.name for p in (folder / "mlruns").rglob("*")) == ["studies", "tiny.journal"]


def test_run_against_a_tracking_server_nobody_runs(cli: Cli, tmp_path: Path, port: int) -> None:
    """Without the check MLflow retried for over 3 minutes in silence; now one line before any training."""
    (tmp_path / "tiny.toml").write_text(SPEC)
    uri = f"http://127.0.0.1:{port}"
    result = cli("run", "tiny.toml", "--set", f"tracking.tracking_uri={uri}", cwd=tmp_path, timeout=120)
    assert _one_line(result) == (
        f"error: --set: tracking.tracking_uri: no MLflow server answers at {uri} within 3 s (Connection refused); "
        "is it running?"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]  # no mlruns/, nothing trained
