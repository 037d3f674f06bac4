"""Every benchmark still starts: its module imports, and the specs and baselines it builds load.

A benchmark that fails at its first line is found here, in CI, instead of by whoever runs it
next (search_efficiency.py's random baseline kept ``study.initial_neighbours`` once, and
stopped with a SpecError before any training). Nothing is trained: one subprocess imports the
scripts (they put ``benchmarks/`` on ``sys.path`` and set environment variables, so not in this
process) and loads each method's spec.
"""

from __future__ import annotations

import py_compile
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
#: Scripts that do their work when imported (startup.py launches the CLI): compiled, not imported.
RUN_ON_IMPORT = {"startup.py"}

CHECK = textwrap.dedent(
    """
    import importlib, sys
    from pathlib import Path
    sys.path.insert(0, str(Path({root!r}) / "benchmarks"))
    for name in {modules!r}:
        importlib.import_module(name)
    import search_efficiency, pareto, quality
    from cnnsearch.spec import load_spec
    args = search_efficiency.make_parser().parse_args(["--quick"])
    for method in search_efficiency.METHODS:
        search_efficiency.spec_for(method, args, 0)
    args = pareto.parse_args(["--quick"])
    for method in pareto.METHODS:
        pareto.spec_for(method, args, 0)
    from _fixed import RANDOM_SEARCH
    for dataset in ("digits", "cifar10"):
        path, overrides = quality.dataset_spec(dataset, quality.make_parser().parse_args(["--quick"]))
        load_spec(path, overrides)
        load_spec(path, [*overrides, *RANDOM_SEARCH])
    print("ok", len({modules!r}))
    """
)


@pytest.mark.parametrize("script", [p for p in BENCHMARKS if p.name in RUN_ON_IMPORT], ids=lambda p: p.name)
def test_scripts_run_on_import_compile(script: Path) -> None:
    py_compile.compile(str(script), doraise=True)


def test_every_benchmark_imports_and_builds_its_specs(tmp_path: Path) -> None:
    modules = [p.stem for p in BENCHMARKS if p.name not in RUN_ON_IMPORT]
    code = CHECK.format(root=str(ROOT), modules=modules)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"ok {len(modules)}"
