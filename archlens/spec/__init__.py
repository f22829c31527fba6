"""The spec language: load, validate and expand network descriptions."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from archlens.errors import SpecError, did_you_mean
from archlens.layers.serialize import file_form
from archlens.spec.expand import expand
from archlens.spec.registry import SpecInfo, builtin_names, builtin_path, list_specs
from archlens.spec.schema import NetworkSpec

SPEC_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = ["NetworkSpec", "SpecInfo", "expand", "is_spec_path", "list_specs", "load_spec", "spec_from_data"]


def is_spec_path(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a file rather than a built-in network."""
    if isinstance(target, os.PathLike):
        return True
    if target.lower().endswith(SPEC_SUFFIXES) or os.sep in target or "/" in target:
        return True
    return target != "" and Path(target).exists()  # a file or folder in the current directory


def load_spec(target: "str | os.PathLike[str] | NetworkSpec | dict[str, Any]") -> NetworkSpec:
    """Load a network spec: a built-in name (``"googlenet"``), a YAML/JSON file, a dict, or a spec.

    >>> load_spec("googlenet").input.height
    224

    Raises :class:`~archlens.errors.SpecError` with the file, line and field path of each problem.
    """
    from archlens.spec.loader import read_spec_data, validate_spec_data

    if isinstance(target, NetworkSpec):
        return target
    if isinstance(target, dict):
        return validate_spec_data(target)
    if not isinstance(target, (str, os.PathLike)):
        raise SpecError(f"cannot load a spec from {type(target).__name__}", hint="pass a name, a path or a dict")
    if is_spec_path(target):
        path = Path(target)
        data, node = read_spec_data(path)
        return validate_spec_data(data, source=str(path), node=node)
    path = builtin_path(str(target))
    if path is None:
        hint = did_you_mean(str(target), builtin_names())
        raise SpecError(
            f"unknown network {str(target)!r}",
            hint=f"{hint} (`archlens list` shows the built-in networks; a file needs .yaml or .json)" if hint
            else "`archlens list` shows the built-in networks; a file needs .yaml or .json",
        )
    stat = path.stat()
    return _load_builtin(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_builtin(path: Path, mtime_ns: int, size: int) -> NetworkSpec:
    """Built-in specs are read and validated once per process (keyed on the file's mtime and size):
    reading YAML and validating cost more than profiling the network."""
    from archlens.spec.loader import read_spec_data, validate_spec_data

    data, node = read_spec_data(path)
    return validate_spec_data(data, source=str(path), node=node)


def spec_from_data(data: dict[str, Any], *, source: str = "<spec>") -> NetworkSpec:
    """Validate plain data (as read from YAML) as a spec."""
    from archlens.spec.loader import validate_spec_data

    return validate_spec_data(data, source=source)


def to_file_data(spec: NetworkSpec) -> dict[str, Any]:
    """The spec as plain data in the file form (``{conv: {...}}`` per layer), defaults left out."""
    from archlens.layers.serialize import model_data

    data = model_data(spec, exclude=("layers", "name"))
    data = {"name": spec.name, **data}
    data["layers"] = [file_form(layer) for layer in spec.layers]
    return data


def dump_yaml(spec: NetworkSpec) -> str:
    """The spec as YAML text in the file form; loading it gives the same network."""
    import yaml

    return yaml.safe_dump(to_file_data(spec), sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
