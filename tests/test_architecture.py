"""The layout of include/egov/ (docs/architecture.md): one package per source, one per stage,
imports flowing one way, no cycles, a small top level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EGOV = Path(__file__).resolve().parent.parent / "include" / "egov"
CROSS_CUTTING = {"settings", "safe_errors", "periods", "assets", "runtime", "masking", "cells"}
# A stage may import the stages of a lower rank, its own package and the cross-cutting modules.
RANK = {"sources": 0, "warehouse": 1, "quality": 2, "compute": 2, "serve": 3, "pipeline": 4}


def _modules() -> dict[str, Path]:
    found = {}
    for path in EGOV.rglob("*.py"):
        if "versions" in path.relative_to(EGOV).parts:  # Alembic revisions: frozen snapshots
            continue
        parts = ("egov",) + path.relative_to(EGOV).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every egov module `path` imports, at any depth, except under `if TYPE_CHECKING:`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = node.module if node.level == 0 else ".".join(
                p for p in (base, node.module) if p)
            if source:
                names.add(source)
                names.update(f"{source}.{a.name}" for a in node.names)
    return {n for n in names if n == "egov" or n.startswith("egov.")}


MODULES = _modules()
GRAPH = {m: {i for i in _imports(p, m) if i in MODULES and i != m and not m.startswith(i + ".")}
         for m, p in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_top_level_is_small_and_cross_cutting():
    top = sorted(p.stem for p in EGOV.glob("*.py") if p.stem != "__init__")
    assert len(top) <= 6, top
    packages = sorted(p.name for p in EGOV.iterdir() if (p / "__init__.py").exists())
    assert {"sources", "quality", "warehouse", "compute", "serve"} <= set(packages)


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "egov"


@pytest.mark.parametrize("stage", sorted(RANK))
def test_stages_import_downward_only(stage):
    wrong = []
    for module, imported in GRAPH.items():
        if _stage(module) != stage:
            continue
        for other in imported:
            target = _stage(other)
            if target in CROSS_CUTTING or target == stage or target == "egov":
                continue
            if target not in RANK or RANK[target] >= RANK[stage]:
                wrong.append(f"{module} -> {other}")
    assert wrong == []


def test_cross_cutting_modules_import_no_stage():
    wrong = [f"{m} -> {o}" for m, imported in GRAPH.items() if _stage(m) in CROSS_CUTTING
             for o in imported if _stage(o) in RANK]
    assert wrong == []


def _sources() -> list[Path]:
    return sorted(p for p in (EGOV / "sources").iterdir() if (p / "__init__.py").exists())


def test_every_source_has_a_hook_whose_get_conn_gives_its_client():
    assert _sources(), "no source package"
    for source in _sources():
        assert (source / "client.py").exists(), source.name
        tree = ast.parse((source / "hook.py").read_text(encoding="utf-8"))
        hooks = [n for n in tree.body if isinstance(n, ast.ClassDef)
                 and any(ast.unparse(b) == "BaseHook" for b in n.bases)]
        assert hooks, f"{source.name}: no BaseHook subclass in hook.py"
        assert any(isinstance(f, ast.FunctionDef) and f.name == "get_conn"
                   for h in hooks for f in h.body), source.name


def test_the_onestop_hook_is_an_airflow_hook():
    from airflow.sdk import BaseHook

    from egov.sources.onestop.client import PortalClient
    from egov.sources.onestop.hook import OneStopPortalHook

    assert issubclass(OneStopPortalHook, BaseHook)
    assert OneStopPortalHook.get_conn.__annotations__["return"] in ("PortalClient", PortalClient)


def test_the_reported_command_of_the_contract_runs_the_pipeline_module():
    """`python -m egov.sources.reported` (reported-figures.md) is the pipeline's command,
    started by name: the source package itself imports no stage."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "egov.sources.reported", "template", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--plan" in proc.stdout and "--year" in proc.stdout
