"""Dependencies point down only: every import in the package, checked against the layer order.

    base -> spec -> counting -> analysis -> report -> render -> cli

A module may import its own layer and the layers below it, never above. Imports inside functions
count as much as those at the top. The package root (``archlens/__init__.py``, the public API) sits
above them all; it also registers the renderers, which is how results display themselves without a
data module ever importing render/.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archlens"

LAYERS = ("base", "spec", "counting", "analysis", "report", "render", "cli", "api")
PLACES = {
    "archlens.errors": "base",
    "archlens.units": "base",
    "archlens.conventions": "base",
    "archlens.tables": "base",
    "archlens.outputs": "base",
    "archlens.counting.formulas": "base",
    "archlens.counting.training": "base",  # a training step's conventions: optimizers, patterns, its figures
    "archlens.spec": "spec",
    "archlens.specs": "spec",
    "archlens.layers": "spec",
    "archlens.counting": "counting",
    "archlens.builder": "counting",
    "archlens.targets": "counting",
    "archlens.profiler": "counting",
    "archlens.analysis": "analysis",
    "archlens.report": "report",
    "archlens.render": "render",
    "archlens.cli": "cli",
    "archlens.__main__": "cli",
    "archlens": "api",
}
"""Module name prefix -> layer; the longest prefix decides (``archlens.counting.formulas`` is base)."""

ENGINES = ("archlens.counting.analytic", "archlens.counting.torch_engine", "archlens.counting.fvcore_engine",
           "archlens.builder", "archlens.targets", "archlens.profiler")
"""What runs a profile: render draws results, it never makes them."""


def layer_of(module: str) -> str:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in PLACES:
            return PLACES[prefix]
    raise AssertionError(f"{module} has no layer: add its prefix to PLACES")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE.parent / relative).with_suffix(".py").exists() or (PACKAGE.parent / relative / "__init__.py").exists()


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every archlens module ``path`` imports (``from a import b``: ``a.b`` if a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.append((node.lineno, f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base))
    return sorted({(line, name) for line, name in found if name == "archlens" or name.startswith("archlens.")})


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_imports_point_down(path):
    here = module_name(path)
    level = LAYERS.index(layer_of(here))
    upward = [f"line {line}: {name} ({layer_of(name)})" for line, name in imports(path)
              if LAYERS.index(layer_of(name)) > level]
    assert not upward, f"{here} ({layer_of(here)}) imports from above: " + "; ".join(upward)


@pytest.mark.parametrize("path", sorted((PACKAGE / "render").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_render_never_runs_a_profile(path):
    engines = [f"line {line}: {name}" for line, name in imports(path) if name.startswith(ENGINES)]
    assert not engines, f"{module_name(path)} imports what profiles: " + "; ".join(engines)


def test_the_checker_sees_an_upward_import(tmp_path):
    assert layer_of("archlens.counting.formulas") == "base" and layer_of("archlens.counting.records") == "counting"
    records = imports(PACKAGE / "counting" / "records.py")
    assert any(name == "archlens.tables" for _, name in records)  # from archlens.tables import ...
    assert any(name == "archlens.conventions" for _, name in records)  # from archlens import conventions
