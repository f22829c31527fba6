"""archlens: what a CNN architecture costs, exactly.

Public API (imported lazily, so ``import archlens`` and the CLI stay fast)::

    import archlens
    spec = archlens.load_spec("googlenet")          # a built-in name or a YAML/JSON file
    net = archlens.build(spec, device="meta")       # torch.nn.Module, no weights allocated
    prof = archlens.profile("googlenet")            # Profile: per-layer params, MACs, other ops
    prof.totals.macs                                # 1582671872

Counting conventions: see :mod:`archlens.counting.formulas`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_spec": ("archlens.spec", "load_spec"),
    "list_specs": ("archlens.spec", "list_specs"),
    "expand": ("archlens.spec", "expand"),
    "NetworkSpec": ("archlens.spec", "NetworkSpec"),
    "build": ("archlens.builder", "build"),
    "profile": ("archlens.profiler", "profile"),
    "Profile": ("archlens.counting.records", "Profile"),
    "LayerStats": ("archlens.counting.records", "LayerStats"),
    "compare": ("archlens.analysis.compare", "compare"),
    "comparison": ("archlens.analysis.compare", "comparison"),
    "diff": ("archlens.analysis.diff", "diff"),
    "inception_study": ("archlens.analysis.inception", "inception_study"),
    "paper_claims": ("archlens.analysis.claims", "paper_claims"),
    "reproduce_table1": ("archlens.analysis.table1", "reproduce_table1"),
    "check": ("archlens.analysis.budget", "check"),
    "fit": ("archlens.analysis.fit", "fit"),
    "register_op": ("archlens.counting.torch", "register_op"),
    "ArchlensError": ("archlens.errors", "ArchlensError"),
    "SpecError": ("archlens.errors", "SpecError"),
    "ShapeError": ("archlens.errors", "ShapeError"),
    "TargetError": ("archlens.errors", "TargetError"),
    "UnitError": ("archlens.errors", "UnitError"),
    "BudgetExceeded": ("archlens.errors", "BudgetExceeded"),
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module_name, attribute = _EXPORTS[name]
        value = getattr(importlib.import_module(module_name), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archlens' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


# Every result draws itself through the renderers registered in archlens.tables: loading them here,
# at the top, lets data modules show in a terminal or a notebook without importing a renderer.
import archlens.render.formats  # noqa: E402,F401  (small: no rich, torch or pandas until used)
