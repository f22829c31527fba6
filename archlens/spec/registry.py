"""Built-in networks: the YAML files in ``archlens/specs``, one network a file, named by the file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"


@dataclass(frozen=True)
class SpecInfo:
    """A built-in network: its name, one-line description and file."""

    name: str
    description: str
    path: Path


def builtin_names() -> list[str]:
    """Names of the built-in networks, sorted."""
    return sorted(path.stem for path in SPECS_DIR.glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    """The file of built-in network ``name``, or None."""
    if not name or any(char in name for char in "/\\\0") or name.startswith("."):
        return None
    path = SPECS_DIR / f"{name}.yaml"
    return path if path.is_file() else None


@lru_cache(maxsize=None)
def _description(path: Path, mtime_ns: int) -> str:
    from archlens.spec import load_spec

    return load_spec(path).description.strip().splitlines()[0] if path.exists() else ""


def list_specs() -> list[SpecInfo]:
    """Every built-in network with its one-line description.

    >>> [s.name for s in list_specs()][:2]
    ['alexnet', 'alexnet-torchvision']
    """
    infos = []
    for name in builtin_names():
        path = SPECS_DIR / f"{name}.yaml"
        infos.append(SpecInfo(name=name, description=_description(path, path.stat().st_mtime_ns), path=path))
    return infos
