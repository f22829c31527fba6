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

from archlens.errors import ArchlensError, SpecError
from archlens.layers.problems import describe, format_path
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


_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")


def _construct_number(loader: "_SafeSpecLoader", node: yaml.ScalarNode) -> Any:
    """YAML 1.1 numbers, without its two surprises: ``1:30`` (base 60, read as 90) and ``017`` (octal,
    read as 15) are refused with what to write instead; ``1_000``, ``0x1F``, ``0o17`` stay numbers."""
    text = str(node.value)
    if ":" in text:
        raise _YamlProblem(node, f"{text!r} is a base-60 number in YAML 1.1 (read as "
                                 f"{_BASE_CONSTRUCTORS[node.tag](loader, node)}); write the number, or quote it")
    if node.tag.endswith(":int") and _LEADING_ZERO.fullmatch(text):
        raise _YamlProblem(node, f"{text!r} has a leading zero, which YAML 1.1 reads as octal "
                                 f"({_BASE_CONSTRUCTORS[node.tag](loader, node)}); write {int(text.replace('_', ''))}")
    return _BASE_CONSTRUCTORS[node.tag](loader, node)


_BASE_CONSTRUCTORS = {tag: _SafeSpecLoader.yaml_constructors[tag]
                      for tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")}
for _tag in _BASE_CONSTRUCTORS:
    _SafeSpecLoader.add_constructor(_tag, _construct_number)


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
    """Validate plain data as a :class:`~archlens.spec.schema.NetworkSpec`; one line per problem.

    ``extends`` and the network's ``params`` are applied first (:mod:`archlens.spec.templates`); then
    the spec is expanded once, so what expansion finds (two siblings with one name, an unknown
    block parameter, a runaway repeat) is reported with the file and line."""
    from pydantic import ValidationError

    from archlens.spec.templates import prepare

    data = _placed(lambda: prepare(data, source), source, node)
    blocks = data.get("blocks")
    context = {"blocks": tuple(blocks) if isinstance(blocks, dict) else ()}
    try:
        spec = schema.NetworkSpec.model_validate(data, context=context)
    except ValidationError as error:
        raise SpecError.from_problems(_problems(error, source, node, data)) from None
    _check_expansion(spec, source, node)
    return spec


def _placed(step, source: str, node: yaml.Node | None):
    """Run ``step``; a :class:`SpecError` it raises at a field path is placed at the file's line."""
    try:
        return step()
    except SpecError as error:
        details = getattr(error, "details", None)
        if details is None and error.problems != [ArchlensError.__str__(error)]:
            raise  # already several placed problems
        loc = _parse_path(error.where or "")
        line = _line_of(node, loc) if node is not None else None
        where = f"{source}:{line}" if line else source
        where = f"{where}: {error.where}" if error.where else where
        placed = SpecError(error.message, where=where, hint=error.hint)
        if details is not None:  # several problems at one place (a block's fields)
            placed.problems = [f"{where}: {detail}" for detail in details]
        raise placed from None


def _check_expansion(spec: schema.NetworkSpec, source: str, node: yaml.Node | None) -> None:
    """Expand once, so the problems expansion finds are reported when the file is read, with its
    name and line, not later by an engine; a shape problem names the file and the layer."""
    from archlens.errors import ShapeError, SpecShapeError
    from archlens.spec.expand import expand

    try:
        _placed(lambda: expand(spec), source, node)
    except ShapeError as error:
        where = f"{source}: {error.where}" if error.where else source
        raise SpecShapeError(error.message, where=where, hint=error.hint) from None


def _parse_path(path: str) -> tuple[Any, ...]:
    """``layers[4].parallel.branches[1]`` -> ``('layers', 4, 'parallel', 'branches', 1)``."""
    import re

    return tuple(int(index) if index else name for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path))


def _problems(error: Any, source: str, node: yaml.Node | None, data: Any = None) -> list[str]:
    lines = []
    for loc, message in describe(error, data):
        line = _line_of(node, loc) if node is not None else None
        where = f"{source}:{line}" if line else source
        lines.append(f"{where}: {format_path(loc) or 'spec'}: {message}")
    return lines


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


