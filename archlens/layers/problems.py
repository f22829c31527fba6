"""pydantic's validation errors as one line per problem: a field path and what is wrong in words.

Shared by the spec loader (which adds the file and line) and the expansion of blocks and repeats
(which adds the use site).
"""

from __future__ import annotations

import re
from typing import Any

from archlens.errors import SpecError, did_you_mean


def spec_error(error: Any, where: str, *, data: Any = None, strip: int = 0, prefix: str = "") -> SpecError:
    """A :class:`SpecError` at ``where`` for a pydantic ``error``: one line per problem; the first
    ``strip`` parts of each field path are dropped, ``prefix`` goes before the rest."""
    details = []
    for loc, message in describe(error, data):
        path = format_path(loc[strip:])
        if prefix:
            path = f"{prefix}{path}" if path.startswith("[") else (f"{prefix}.{path}" if path else prefix)
        details.append(f"{path}: {message}" if path else message)
    details = details or ["invalid"]
    problem = SpecError(details[0], where=where)
    problem.details = details  # each problem without its place, so a reader can place them all
    problem.problems = [f"{where}: {detail}" for detail in details]
    return problem


def describe(error: Any, data: Any = None) -> list[tuple[tuple[Any, ...], str]]:
    """pydantic's validation errors as ``(field path, one-line message)``, one a problem, noise removed."""
    chosen: dict[str, dict[str, Any]] = {}
    for item in error.errors(include_url=False):
        loc = _clean_loc(item["loc"], data)
        if item["type"] in ("invalid_key", "missing") and loc and isinstance(loc[-1], int | float | bool | None):
            # A non-text key (``1: 2``) or a missing member of a pair (``kernel: []``): the problem
            # belongs to the mapping or the pair, not to a path that does not exist.
            kind = "invalid_key" if item["type"] == "invalid_key" else "pair_incomplete"
            item = {**item, "type": kind, "input": loc[-1]}
            loc = loc[:-1]
        path = format_path(loc)
        previous = chosen.get(path)
        # A union (a kernel is an int or a pair) reports one error per member: keep the member
        # that matches the input's type, i.e. not the "wrong type" error.
        if previous is None or (previous["type"].endswith("_type") and not item["type"].endswith("_type")):
            chosen[path] = {**item, "loc": loc}
    # ``layer:`` instead of ``layers:`` is one mistake: the unknown field says "did you mean
    # 'layers'?", so "layers: is required" is noise.
    for item in [i for i in chosen.values() if i["type"] == "extra_forbidden"]:
        suggestion = did_you_mean(str(item["loc"][-1]), _fields_at(item["loc"]))
        if suggestion is not None:
            wanted = format_path((*item["loc"][:-1], suggestion.split("'")[1]))
            if chosen.get(wanted, {}).get("type") == "missing":
                del chosen[wanted]
    # The same union seen from the other side: a wrong-type error on ``kernel`` next to a precise
    # one on ``kernel[1]`` is noise.
    for path in [p for p, item in chosen.items() if item["type"].endswith("_type")]:
        if any(other.startswith((f"{path}[", f"{path}.")) for other in chosen):
            del chosen[path]
    return [(item["loc"], _friendly(item)) for item in chosen.values()]


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> tuple[Any, ...]:
    """Drop pydantic's union-member markers (``int``, ``tuple[...]``) from an error location.

    A part that is a key of the data at that point is the user's, whatever it looks like (a key
    ``'x[1'`` is not a marker); following the data tells them apart.
    """
    kept = []
    current = data
    for part in loc:
        if isinstance(current, dict) and _hashable(part) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif isinstance(part, int) or (
            not any(marker in part for marker in ("[", "function-", "constrained-", "lax-", "strict-"))
            and part not in ("int", "float", "str", "bool", "none")
        ):
            kept.append(part)  # a missing field, or a layer's type tag: not in the data, still the path
            current = None
    return tuple(kept)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def format_path(loc: tuple[Any, ...]) -> str:
    """``('layers', 4, 'inception', 'ch3x3')`` -> ``layers[4].inception.ch3x3``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):  # a key like '\x1e' or 'a b': quoted, never raw
            text += f"[{str(part)!r}]"
        else:
            text += f".{part}" if text else str(part)
    return text


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


FIELD_MODELS: dict[str, type] = {}
"""Models of fields that are not layers, by field name (``batch_norm``, ``branches``; the spec adds
``input``, ``metadata`` ...): where an unknown field's "did you mean" looks for names."""

TOP_LEVEL: list[type] = []  # the spec's top-level model, once the spec package registers it


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    from archlens.layers import LAYER_TYPES

    parent = next((p for p in reversed(loc[:-1]) if isinstance(p, str)), None)
    if parent is None:
        return list(TOP_LEVEL[0].model_fields) if TOP_LEVEL else []
    model = LAYER_TYPES.get(parent) or FIELD_MODELS.get(parent)
    return [f for f in model.model_fields if f != "type"] if model else []


def _shown(value: Any) -> str:
    """A value as the spec's author wrote it: ``true``, ``null``, ``'3x3'``, ``64.5``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _friendly(item: dict[str, Any]) -> str:
    kind = item["type"]
    value = item.get("input")
    ctx = item.get("ctx") or {}
    shown = _shown(value)
    if kind == "extra_forbidden":
        field = item["loc"][-1] if item["loc"] else "?"
        hint = did_you_mean(str(field), _fields_at(item["loc"]))
        known = ", ".join(_fields_at(item["loc"]))
        return f"unknown field {field!r}; " + (hint or f"known fields: {known}")
    if kind == "missing":
        return "is required"
    if kind == "invalid_key":
        return f"field names must be text, got {value!r}"
    if kind == "pair_incomplete":
        return "must be one integer or a pair [height, width]"
    if kind == "greater_than":
        if ctx.get("gt") == 0:
            return f"must be a positive integer, got {shown}"
        return f"must be greater than {ctx.get('gt')}, got {shown}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {shown}"
    if kind in ("less_than", "less_than_equal"):
        bound = ctx.get("lt", ctx.get("le"))
        return f"must be {'below' if kind == 'less_than' else 'at most'} {bound}, got {shown}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*[xX]\s*\d+\s*", value):
            height, width = re.split(r"[xX]", value)
            return f"must be an integer or [height, width], got {shown}; write [{height.strip()}, {width.strip()}]"
        return f"must be an integer, got {shown}"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"must be a finite number, got {shown}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {shown}"
    if kind in ("string_type",):
        return f"must be text, got {shown}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {shown}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list, got {shown}"
    if kind == "too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"needs at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind == "model_type" or kind == "dict_type":
        return f"must be a mapping of fields, got {shown}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    message = item["msg"]
    return message.removeprefix("Value error, ")
