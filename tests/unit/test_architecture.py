"""The layout's promises, checked: one-way layers (as docs/architecture.md states them), no import
cycle between modules, no module over 400 lines, and every public name listed in ``__all__``."""

from __future__ import annotations

import importlib
from pathlib import Path

import grimp
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cnnsearch"
MAX_LINES = 400


def _contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    return [layer.replace("cnnsearch.", "") for layer in reversed(layers)]


def test_architecture_page_states_the_layers_the_contract_enforces() -> None:
    flow = [
        line.strip()
        for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("spec -> ")
    ]
    assert flow, "docs/architecture.md has no 'spec -> ...' layer line"
    stated = [part.strip() for part in flow[0].split("->")]
    assert stated == _contract_layers()


def test_every_layer_is_a_package_or_module() -> None:
    for layer in _contract_layers():
        for name in layer.split(" | "):
            assert (PACKAGE / name / "__init__.py").is_file() or (PACKAGE / f"{name}.py").is_file(), name


def test_no_import_cycle_between_modules() -> None:
    """Function-level imports count (grimp sees them); TYPE_CHECKING-only imports do not run."""
    graph = grimp.build_graph("cnnsearch", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    cycles = _cycles(edges)
    assert cycles == [], f"import cycles: {cycles}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module loop and a three-module loop are both found."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_cycles(edges)) == [["a", "b"], ["c", "d", "e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concept"


@pytest.mark.parametrize("package", ["spec", "data", "models", "training", "search", "tracking", "reporting", "export"])
def test_subpackage_lists_its_public_names_and_keeps_modules_private(package: str) -> None:
    module = importlib.import_module(f"cnnsearch.{package}")
    names = list(module.__all__)
    assert names and all(hasattr(module, name) for name in names)
    files = [p.name for p in (PACKAGE / package).glob("*.py") if p.name != "__init__.py"]
    assert files and all(name.startswith("_") for name in files), files


def test_read_only_paths_do_not_import_keras() -> None:
    """`validate`, `trials`, `best` and `report` stay fast and quiet: no Keras, no TensorFlow."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import cnnsearch, cnnsearch.cli\n"
        "from cnnsearch import data, models, training, search, tracking, reporting, export\n"
        "import cnnsearch.search._study, cnnsearch.reporting._tables, cnnsearch.reporting._page\n"
        "import cnnsearch.tracking._client, cnnsearch.tracking._reconcile\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_public_names_are_exactly_the_type_checking_imports() -> None:
    """A lazy package's ``__all__`` and its import block (what `_lazy.py` reads) list the same names."""
    from cnnsearch._lazy import type_checking_imports

    for package in ("models", "training", "search", "tracking", "reporting", "export"):
        module = importlib.import_module(f"cnnsearch.{package}")
        assert sorted(module.__all__) == sorted(type_checking_imports(PACKAGE / package / "__init__.py")), package
