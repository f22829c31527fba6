"""What a spec file may say before its layers are validated: ``extends`` (start from another spec)
and ``params`` (values its layers refer to as ``$name`` and ``${expression}``).

``extends: resnet50`` (a built-in name, or a file path relative to this file) takes every field of
that spec; the fields given here replace the base's, except ``params`` and ``blocks``, which are
merged (the ones given here win). So ``resnet101.yaml`` is ``extends: resnet50`` with other stage
depths in ``params``. The network's ``params`` are substituted into its ``layers`` when the file is
read; a block's layers are substituted at each use (:mod:`archlens.layers.block`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archlens.errors import SpecError

MAX_EXTENDS = 8
MERGED = ("params", "blocks")


def prepare(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` with ``extends`` resolved and the network's params substituted into its layers."""
    from archlens.layers.expressions import present_layers, references, substitute

    data = resolve_extends(data, source, chain=())
    params = data.get("params")
    layers = data.get("layers")
    if params and isinstance(params, dict) and layers is not None:
        for name, value in params.items():
            if references(value):
                raise SpecError("a parameter's value cannot refer to parameters", where=f"params.{name}")
        layers = substitute(layers, params, "layers")
    if isinstance(layers, list):
        data = {**data, "layers": present_layers(layers, "layers")}
    return data


def resolve_extends(data: dict[str, Any], source: str, chain: tuple[str, ...]) -> dict[str, Any]:
    if "extends" not in data:
        return data
    base_name = data["extends"]
    if not isinstance(base_name, str) or not base_name:
        raise SpecError("must name a built-in network or a spec file", where="extends")
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(f"more than {MAX_EXTENDS} specs extend one another", where="extends")
    base_data, base_source = _read_base(base_name, source)
    if base_source in chain or base_source == source:
        raise SpecError(f"{base_name!r} extends itself (through {' -> '.join((*chain, source))})", where="extends")
    base_data = resolve_extends(base_data, base_source, (*chain, source))
    merged = {key: value for key, value in base_data.items()}
    for key, value in data.items():
        if key == "extends":
            continue
        if key in MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "name" not in data:
        raise SpecError("a spec that extends another needs its own name", where="name")
    if "metadata" not in data:
        merged.pop("metadata", None)  # the base's paper and accuracy are not this network's
    return merged


def _read_base(name: str, source: str) -> tuple[dict[str, Any], str]:
    from archlens.spec import SPEC_SUFFIXES
    from archlens.spec.loader import read_spec_data
    from archlens.spec.registry import builtin_path

    if name.lower().endswith(SPEC_SUFFIXES) or "/" in name:
        path = Path(name)
        if not path.is_absolute() and source and not source.startswith("<"):
            path = Path(source).parent / path
    else:
        path = builtin_path(name)
        if path is None:
            from archlens.errors import did_you_mean
            from archlens.spec.registry import builtin_names

            raise SpecError(f"no built-in network {name!r} to extend", where="extends",
                            hint=did_you_mean(name, builtin_names()) or "`archlens list` shows them")
    data, _ = read_spec_data(path)
    return data, str(path)


def check_blocks(blocks: dict[str, Any], params: dict[str, Any]) -> None:
    """Every name a block's layers refer to is one of its params, the network's, or its input's sizes;
    no block uses itself (directly or through others)."""
    from archlens.layers.block import BUILTIN_PARAMS
    from archlens.layers.expressions import references

    for name, definition in blocks.items():
        known = set(definition.params) | set(params) | set(BUILTIN_PARAMS)
        unknown = sorted(references(definition.layers) - known)
        if unknown:
            raise ValueError(f"block {name!r} refers to {', '.join('$' + u for u in unknown)}, which "
                             "is not one of its params (nor the network's)")
    uses = {name: _block_keys(definition.layers, blocks) for name, definition in blocks.items()}
    done: set[str] = set()
    for start in blocks:
        _no_cycle(start, uses, [], done)


def _no_cycle(current: str, uses: dict[str, set[str]], path: list[str], done: set[str]) -> None:
    """Depth-first, each block explored once (``done``): a use of a block on ``path`` is a cycle."""
    if current in done:
        return
    path.append(current)
    for used in sorted(uses.get(current, ())):
        if used in path:
            cycle = " -> ".join([*path[path.index(used):], used])
            raise ValueError(f"block {used!r} uses itself ({cycle})")
        _no_cycle(used, uses, path, done)
    path.pop()
    done.add(current)


def _block_keys(value: Any, blocks: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in blocks:
                found.add(key)
            found |= _block_keys(item, blocks)
    elif isinstance(value, list):
        for item in value:
            found |= _block_keys(item, blocks)
    return found
