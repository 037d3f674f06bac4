"""Is ``study.timeout`` spent, and does more of it give a better model? (issue 27)

For each timeout: ``cnnsearch run SPEC --set study.timeout=T --set study.final_share=S``
(plus ``--workers N`` if asked) in a fresh scratch folder, then ``cnnsearch best SPEC
--export --formats keras`` there. Prints, per run: the seconds from the study's clock to its
last trial's end against the timeout, the final training's epochs, whether it ran exactly once
and nothing stayed RUNNING, and the exported model's test accuracy (from its model card).

``--keep DIR`` keeps each run's working folder (its study journal, ``mlruns/`` and export) under
``DIR/<timeout>s-w<workers>`` instead of deleting it, to read which trial won and how its final
training went. ``--code DIR`` runs another checkout's cnnsearch (``/work/main`` for the figures before a
change), with the same spec and settings. The last line is
``budget_min_share=<the smallest share of a timeout spent>``.

    PYTHONPATH=. .venv/bin/python benchmarks/budget.py --timeouts 60,120,240
    PYTHONPATH=. .venv/bin/python benchmarks/budget.py --timeouts 120 --workers 2 --code /work/main
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from optuna.trial import TrialState
from cnnsearch.search import load_study
from cnnsearch.spec import load_spec
spec = load_spec(sys.argv[1], sys.argv[2:])
study = load_study(spec)
finals = [t for t in study.trials if "final_epochs" in t.user_attrs and "final_seed_of" not in t.user_attrs]
seeds = [t for t in study.trials if "final_seed_of" in t.user_attrs]
starts = [t.datetime_start.timestamp() for t in study.trials if t.datetime_start is not None]
# Before issue 27 no clock was stored: the first trial's start is then a little late (start-up).
start = study.user_attrs.get("clock_started") or (min(starts) if starts else None)
ends = [t.datetime_complete.timestamp() for t in study.trials if t.datetime_complete is not None]
print(json.dumps({
    "trials": len(study.trials),
    "finals_complete": sum(t.state == TrialState.COMPLETE for t in finals),
    "finals": len(finals),
    "running": sum(t.state == TrialState.RUNNING for t in study.trials),
    "final_epochs_run": [t.user_attrs.get("epochs_run") for t in finals],
    "seed_trainings": [(t.state.name, t.user_attrs.get("epochs_run")) for t in seeds],
    "winner": [t.user_attrs.get("final_of") for t in finals],
    "final_values": [t.value for t in finals],
    "exploring": sum("final_epochs" not in t.user_attrs for t in study.trials),
    "used_s": (max(ends) - start) if start and ends else None,
    "last_end": max(ends) if ends else None,
}))
"""


def run_one(
    code: Path, spec: Path, timeout: int, share: float, workers: int, extra: list[str], keep: Path | None
) -> dict:
    sets = [f"study.timeout={timeout}", f"study.final_share={share}", *extra]
    args = [arg for item in sets for arg in ("--set", item)]
    env = {**os.environ, "PYTHONPATH": str(code), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cli = [sys.executable, "-m", "cnnsearch"]
    with contextlib.ExitStack() as stack:
        if keep is None:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="cnnsearch-budget-"))
        else:
            scratch = str(keep / f"{timeout}s-w{workers}")
            Path(scratch).mkdir(parents=True, exist_ok=False)
        began = time.time()
        run = [*cli, "run", str(spec), *args, *(["--workers", str(workers)] if workers else [])]
        done = subprocess.run(run, cwd=scratch, env=env, capture_output=True, text=True)
        wall = time.time() - began
        if done.returncode != 0:
            raise SystemExit(f"run failed ({done.returncode}): {done.stderr[-2000:]}")
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, str(spec), *sets], cwd=scratch, env=env, capture_output=True, text=True
        )
        figures = json.loads(probe.stdout.strip().splitlines()[-1])
        export = subprocess.run(
            [*cli, "best", str(spec), *args, "--export", "--formats", "keras"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        if export.returncode != 0:
            raise SystemExit(f"export failed: {export.stderr[-2000:]}")
        cards = list(Path(scratch, "exports").glob("*/model_card.json"))
        card = json.loads(cards[0].read_text())
        figures.update(test_accuracy=float(card["test"]["accuracy"]), wall_s=round(wall, 1))
        figures["budget_line"] = next((ln for ln in done.stdout.splitlines() if "time budget" in ln), "")
        figures["shipped"] = (
            card.get("shipped", {}).get("description") if isinstance(card.get("shipped"), dict) else None
        )
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "search_spaces" / "digits.toml")
    parser.add_argument("--timeouts", default="60,120,240", help="seconds, comma-separated")
    parser.add_argument("--share", type=float, default=0.7)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose cnnsearch runs")
    parser.add_argument("--keep", type=Path, default=None, help="keep each run's working folder under this one")
    parser.add_argument("--set", dest="extra", action="append", default=["study.folds=1", "study.n_trials=1000"])
    options = parser.parse_args()
    print(
        f"spec {options.spec.name}, final_share {options.share}, workers {options.workers or 'none'}, "
        f"code {options.code}, extra {options.extra}"
    )
    print("| timeout | used | share | final trainings (complete/all) | final epochs | RUNNING left | test accuracy |")
    print("|---|---|---|---|---|---|---|")
    shares = []
    for timeout in (int(t) for t in options.timeouts.split(",")):
        f = run_one(
            options.code, options.spec.resolve(), timeout, options.share, options.workers, options.extra, options.keep
        )
        used = f["used_s"] or 0.0
        shares.append(used / timeout)
        print(
            f"| {timeout} s | {used:.0f} s | {used / timeout:.0%} | {f['finals_complete']}/{f['finals']} "
            f"| {f['final_epochs_run']} | {f['running']} | {f['test_accuracy']:.4f} |",
            flush=True,
        )
        print(
            f"  exploring trials {f['exploring']}; final training of trial {f['winner']}'s params "
            f"(its own validation value {f.get('final_values')}); "
            f"other-seed trainings {f['seed_trainings']}; shipped {f['shipped']}",
            flush=True,
        )
    print(f"budget_min_share={min(shares):.3f}")


if __name__ == "__main__":
    main()
