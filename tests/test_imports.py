"""The import rules of docs/architecture.md, checked on the source (no module is imported).

- No import circle between the project's modules, counting every import statement: module
  level, inside functions, and under ``if TYPE_CHECKING`` alike.
- Evaluation and model packages import from the core only its public API (``unsup3d.api``) and
  the CLI kit (``unsup3d.cli``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "unsup3d",
    "evalkit",
    "clustering",
    "classification",
    "segmentation",
    "baselines",
    "analysis",
    "pipeline",
)
RESTRICTED = PACKAGES[1:]  # all but the core itself
PUBLIC = ("unsup3d.api", "unsup3d.cli")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else []:
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import of ``name`` executes last (a submodule if it is one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Project modules that ``module``'s import statements name (every statement in the file)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            resolved = _resolve(target)
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_the_project():
    assert "unsup3d.model" in MODULES and "unsup3d.api" in MODULES
    assert "unsup3d.renderer" in GRAPH["unsup3d.model"]  # from unsup3d.renderer import ...
    assert "unsup3d.model" in GRAPH["unsup3d.loocc"]
    assert "unsup3d.cli" in GRAPH["clustering.cluster_eval"]


def test_the_cycle_finder_finds_a_type_only_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("package", RESTRICTED)
def test_evaluation_and_model_packages_use_only_the_public_api(package):
    bad = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module == package or module.startswith(package + ".")
        for target in targets
        if target.split(".")[0] == "unsup3d" and target not in PUBLIC
    )
    assert bad == [], "import the core through unsup3d.api / unsup3d.cli:\n" + "\n".join(bad)
