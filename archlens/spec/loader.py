"""Reading spec files safely and turning validation errors into one line per problem.

YAML is read with a safe loader only (no Python tags), duplicate keys are rejected (PyYAML
accepts them silently), and the document's size, nesting depth and alias expansion are bounded,
so a hostile file fails fast with little memory. Every problem names the file, the line where
PyYAML saw it, and the field path (``layers[4].inception.ch3x3``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from archlens.errors import SpecError, did_you_mean
from archlens.spec import schema

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

_SEQUENCE_FIELDS = {"layers", "branches", "blocks"}


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _SafeSpecLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, refusing duplicate keys and merge keys, with every problem on a line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (_YamlProblem, yaml.YAMLError):
            raise
        except (ValueError, TypeError, OverflowError) as error:
            # An explicit tag the value does not fit (`!!int x`, `!!timestamp 2020-13-45`), or an
            # integer too long for Python (`out: 1` and 5,000 digits).
            shown = node.value if isinstance(node.value, str) else "this value"
            if _too_many_digits(error):
                raise _YamlProblem(node, f"a number with {len(shown):,} digits is too long") from None
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise _YamlProblem(node, f"cannot read {shown[:40]!r} as {node.tag.rsplit(':', 1)[-1]}: {detail}") from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                raise _YamlProblem(
                    key_node, "merge keys (<<) are not supported; write the fields out, or repeat a whole value "
                              "with an anchor and an alias (&name, *name)")
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _YamlProblem(key_node, "a mapping key must be a plain value") from None
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise _YamlProblem(key_node, f"duplicate key {key!r} (first given on line {first})")
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _too_many_digits(error: Exception) -> bool:
    """Python refuses to convert integers of more than 4,300 digits (a denial-of-service guard)."""
    return isinstance(error, ValueError) and "integer string conversion" in str(error)


class _YamlProblem(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node
        self.message = message


def read_spec_data(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """Read a YAML or JSON spec file into plain data; returns the data and, for YAML, its node tree."""
    where = str(path)
    if not path.exists():
        raise SpecError("no such file", where=where, hint="check the path, or run `archlens list` for built-in names")
    if path.is_dir():
        raise SpecError("is a directory, not a spec file", where=where, hint="give a .yaml or .json file")
    try:
        with path.open("rb") as stream:  # bounded: /dev/zero or a pipe has no size to check first
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise SpecError(f"cannot read: {error.strerror}", where=where) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            f"is larger than {MAX_FILE_BYTES:,} bytes, the limit for a spec",
            where=where,
            hint="a spec describes layers, not weights: use macros (inception, vgg_stage) to keep it short",
        )
    if b"\x00" in raw:
        raise SpecError("is a binary file, not a YAML or JSON spec", where=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"is not UTF-8 text (byte {error.start})", where=where) from None
    if not text.strip():
        raise SpecError("is empty", where=where, hint="a spec needs at least `name:` and `layers:`")
    if path.suffix.lower() == ".json":
        return _parse_json(text, where), None
    return _parse_yaml(text, where)


def _parse_json(text: str, where: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise SpecError(f"duplicate key {key!r}", where=where)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        raise SpecError(f"invalid JSON: {error.msg}", where=f"{where}:{error.lineno}") from None
    except RecursionError:
        raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", where=where) from None
    except ValueError as error:
        if _too_many_digits(error):
            raise SpecError("invalid JSON: a number with more than 4,300 digits is too long", where=where) from None
        raise SpecError(f"invalid JSON: {str(error).splitlines()[0]}", where=where) from None
    _check_depth(data, where)
    return _require_mapping(data, where)


def _check_depth(data: Any, where: str) -> None:
    stack = [(data, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", where=where)
        if count > MAX_NODES:
            raise SpecError(f"more than {MAX_NODES:,} values", where=where)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _parse_yaml(text: str, where: str) -> tuple[dict[str, Any], yaml.Node | None]:
    loader = _SafeSpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError("is empty", where=where, hint="a spec needs at least `name:` and `layers:`")
        _check_node_budget(node, where)
        data = loader.construct_document(node)
    except _YamlProblem as problem:
        raise SpecError(problem.message, where=f"{where}:{problem.node.start_mark.line + 1}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SpecError(_yaml_message(error, text), where=f"{where}{line}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"invalid YAML: {error}".splitlines()[0], where=where) from None
    finally:
        loader.dispose()
    return _require_mapping(data, where), node


def _yaml_message(error: yaml.MarkedYAMLError, text: str) -> str:
    problem = error.problem or "invalid YAML"
    if isinstance(error, yaml.constructor.ConstructorError):
        if "tag" in problem and error.problem_mark is not None:
            tag = problem.rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
            return f"the tag {tag!r} is not allowed; archlens reads plain YAML only (no tags such as !!python/object)"
        return problem
    mark = error.problem_mark
    lines = text.splitlines()
    if mark is not None and mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t":
        return "invalid YAML: a tab character; indent with spaces"
    if problem == "found undefined alias" and mark is not None and mark.line < len(lines):
        alias = re.match(r"\*([^\s,\]}]+)", lines[mark.line][mark.column:])
        if alias:
            return f"invalid YAML: alias *{alias[1]} is used, but no anchor &{alias[1]} comes before it"
    if error.context == "expected a single document in the stream":
        return "a spec file holds one YAML document; found a second one (after `---`)"
    if problem == "exceeded maximum nesting depth":
        return f"invalid YAML: nesting deeper than {MAX_DEPTH} levels"
    return f"invalid YAML: {problem}" + (f" ({error.context})" if error.context else "")


def _check_node_budget(root: yaml.Node, where: str) -> None:
    """Count nodes as construction would visit them (aliases revisit), bounding count and depth."""
    stack = [(root, 0)]
    visited = 0
    while stack:
        node, depth = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            raise SpecError(
                f"the document expands to more than {MAX_NODES:,} values (are aliases nested?)",
                where=f"{where}:{root.start_mark.line + 1}",
            )
        if depth > MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", where=f"{where}:{node.start_mark.line + 1}")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _require_mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise SpecError(
            f"the top level is {kind}; a spec is a mapping with name: and layers:", where=where
        )
    return data


def validate_spec_data(data: dict[str, Any], *, source: str = "<spec>", node: yaml.Node | None = None) -> schema.NetworkSpec:
    """Validate plain data as a :class:`~archlens.spec.schema.NetworkSpec`; one line per problem."""
    from pydantic import ValidationError

    try:
        spec = schema.NetworkSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError.from_problems(_problems(error, source, node, data)) from None
    _check_expansion(spec, source, node)
    return spec


def _check_expansion(spec: schema.NetworkSpec, source: str, node: yaml.Node | None) -> None:
    """Expand once, so the problems expansion finds (two siblings with one name, an aux head inside a
    sequence) are reported when the file is read, with its name and line, not later by an engine."""
    from archlens.spec.expand import expand

    try:
        expand(spec)
    except SpecError as error:
        loc = _parse_path(error.where or "")
        line = _line_of(node, loc) if node is not None else None
        where = f"{source}:{line}" if line else source
        raise SpecError(error.message, where=f"{where}: {error.where}" if error.where else where,
                        hint=error.hint) from None


def _parse_path(path: str) -> tuple[Any, ...]:
    """``layers[4].parallel.branches[1]`` -> ``('layers', 4, 'parallel', 'branches', 1)``."""
    import re

    return tuple(int(index) if index else name for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path))


def _problems(error: Any, source: str, node: yaml.Node | None, data: Any = None) -> list[str]:
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
    lines = []
    for path, item in chosen.items():
        line = _line_of(node, item["loc"]) if node is not None else None
        where = f"{source}:{line}" if line else source
        lines.append(f"{where}: {path or 'spec'}: {_friendly(item)}")
    return lines


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


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its nearest ancestor that exists."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else best
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return best
        best = node.start_mark.line + 1
    return best


_MODEL_BY_FIELD = {
    "input": schema.InputShape,
    "metadata": schema.Metadata,
    "accuracy": schema.Accuracy,
    "budget": schema.Budget,
    "blocks": schema.BlockBudget,
    "batch_norm": schema.BatchNorm,
    "branches": schema.Branch,
}


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    parent = next((p for p in reversed(loc[:-1]) if isinstance(p, str)), None)
    if parent is None:
        return list(schema.NetworkSpec.model_fields)
    model = schema.LAYER_TYPES.get(parent) or _MODEL_BY_FIELD.get(parent)
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
