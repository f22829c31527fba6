"""Parameters in specs: ``$name`` and ``${expression}`` in a block's (or a network's) layers.

A value that is exactly ``$width`` becomes the parameter's value, whatever its type; exactly
``${width * 4}`` becomes the expression's value; ``${...}`` inside longer text is replaced by its
value as text; ``$$`` is a literal ``$``. Expressions are arithmetic on numbers, never code:
``+ - * / // % **``, comparisons, ``and or not``, ``a if c else b``, list indexing ``depths[2]``,
and the functions ``min max round floor ceil int float abs divisible``. A layer with ``when: false``
(``when: "${t != 1}"``) is left out (:func:`present_layers`). ``divisible(v, d=8)`` is
torchvision's ``_make_divisible``: ``v`` to the nearest multiple of ``d``, at least ``d``, and never
more than 10 % below ``v``.

>>> substitute({"out": "${width * 4}", "stride": "$stride"}, {"width": 64, "stride": 2}, "here")
{'out': 256, 'stride': 2}
>>> evaluate("divisible(32 * 1.4)", {})
48
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any, Callable, Mapping

from archlens.errors import SpecError

MAX_EXPRESSION = 300  # characters
MAX_MAGNITUDE = 10**30  # larger numbers mean nothing in a network (and would cost time)

_WHOLE_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_EXPRESSION = re.compile(r"\$\{([^{}]*)\}")
_INNER = re.compile(r"\$\$|\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to a multiple of ``divisor`` as torchvision's ``_make_divisible`` does.

    >>> divisible(32 * 1.1), divisible(16 * 0.5), divisible(3)
    (32, 8, 8)
    """
    if divisor < 1:
        raise ValueError("the divisor must be at least 1")
    floor_value = divisor if min_value is None else min_value
    result = max(floor_value, int(value + divisor / 2) // divisor * divisor)
    if result < 0.9 * value:
        result += divisor
    return result


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "round": round, "floor": math.floor, "ceil": math.ceil, "int": int,
    "float": float, "abs": abs, "divisible": divisible,
}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class ExpressionError(SpecError):
    """An expression in a spec cannot be evaluated."""


def substitute(value: Any, scope: Mapping[str, Any], where: str) -> Any:
    """``value`` (plain data: dicts, lists, text, numbers) with every ``$name`` and ``${...}`` replaced."""
    if isinstance(value, str):
        if "$" not in value:
            return value
        whole = _WHOLE_NAME.fullmatch(value)
        if whole:
            return _lookup(whole[1], scope, where)
        whole = _WHOLE_EXPRESSION.fullmatch(value)
        if whole:
            return evaluate(whole[1], scope, where)
        return _INNER.sub(lambda match: _text(match, scope, where), value)
    if isinstance(value, list):
        return [substitute(item, scope, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: substitute(item, scope, f"{where}.{key}") for key, item in value.items()}
    return value


def present_layers(value: Any, where: str) -> Any:
    """``value`` (substituted plain data) without the layers whose ``when:`` is false; ``when: true`` is
    dropped. A layer is a mapping of one key whose value is a mapping: ``{conv: {when: false, ...}}``.

    >>> present_layers([{"conv": {"out": 8, "when": False}}, {"relu": {"when": True}}], "layers")
    [{'relu': {}}]
    """
    if isinstance(value, list):
        kept = []
        for index, item in enumerate(value):
            if isinstance(item, dict) and len(item) == 1:
                ((key, body),) = item.items()
                if isinstance(body, dict) and "when" in body:
                    condition = body["when"]
                    if not isinstance(condition, bool):
                        raise ExpressionError(f"when must be true or false, got {condition!r}",
                                              where=f"{where}[{index}].{key}.when")
                    if not condition:
                        continue
                    item = {key: {k: v for k, v in body.items() if k != "when"}}
            kept.append(present_layers(item, f"{where}[{index}]"))
        return kept
    if isinstance(value, dict):
        return {key: present_layers(item, f"{where}.{key}") for key, item in value.items()}
    return value


def references(value: Any) -> set[str]:
    """The parameter names ``value`` refers to (for checks before anything is evaluated)."""
    found: set[str] = set()
    if isinstance(value, str) and "$" in value:
        for match in _INNER.finditer(value):
            if match[2]:
                found.add(match[2])
            elif match[1] is not None:
                try:
                    tree = ast.parse(match[1].strip(), mode="eval")
                except SyntaxError:
                    continue
                found |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(FUNCTIONS)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= references(item)
    return found


def _text(match: re.Match, scope: Mapping[str, Any], where: str) -> str:
    if match[0] == "$$":
        return "$"
    result = _lookup(match[2], scope, where) if match[2] else evaluate(match[1], scope, where)
    return str(result)


def _lookup(name: str, scope: Mapping[str, Any], where: str) -> Any:
    if name not in scope:
        from archlens.errors import did_you_mean

        hint = did_you_mean(name, [key for key in scope if not key.startswith("_")])
        raise ExpressionError(f"${name}: no parameter {name!r} here", where=where,
                              hint=hint or ("parameters: " + ", ".join(sorted(scope)) if scope else
                                            "declare it under params:"))
    return scope[name]


def evaluate(text: str, scope: Mapping[str, Any], where: str = "") -> Any:
    """The value of expression ``text`` over ``scope`` (a :class:`ExpressionError` if it has none)."""
    shown = "${" + text + "}"
    if len(text) > MAX_EXPRESSION:
        raise ExpressionError(f"{shown[:40]}...: longer than {MAX_EXPRESSION} characters", where=where)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"{shown}: not an expression ({error.msg})", where=where) from None
    try:
        return _Evaluator(scope, shown, where).visit(tree.body)
    except ExpressionError:
        raise
    except (ArithmeticError, ValueError, TypeError, IndexError, RecursionError) as error:
        message = str(error) or type(error).__name__
        raise ExpressionError(f"{shown}: {message}", where=where) from None


class _Evaluator:
    def __init__(self, scope: Mapping[str, Any], shown: str, where: str):
        self.scope = scope
        self.shown = shown
        self.where = where

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(f"{self.shown}: {message}", where=self.where)

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.fail(f"{type(node).__name__.lower()} is not allowed (only arithmetic on parameters)")
        return self.checked(method(node))

    def checked(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail("the result is not a finite number")
        if abs(value) > MAX_MAGNITUDE:
            raise self.fail(f"the result is larger than 10^{round(math.log10(MAX_MAGNITUDE))}")
        return value

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise self.fail(f"{type(node.value).__name__} constants are not allowed")

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        return _lookup(node.id, self.scope, self.where)

    def visit_List(self, node: ast.List) -> list:
        return [self.visit(item) for item in node.elts]

    visit_Tuple = visit_List

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        function = _BINARY.get(type(node.op))
        if function is None:
            raise self.fail(f"the operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow) and (not isinstance(right, (int, float)) or abs(right) > 64):
            raise self.fail("exponents are limited to 64")
        return function(left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        if isinstance(node.op, ast.Not):
            return not operand
        raise self.fail("bitwise operators are not allowed")

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            result = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            function = _COMPARE.get(type(op))
            if function is None:
                raise self.fail(f"the comparison {type(op).__name__} is not allowed")
            right = self.visit(comparator)
            if not function(left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        container = self.visit(node.value)
        index = self.visit(node.slice)
        if not isinstance(container, list) or isinstance(index, bool) or not isinstance(index, int):
            raise self.fail("only a list can be indexed, by an integer")
        return container[index]

    def visit_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise self.fail(f"unknown function; the functions are {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.fail("functions take positional arguments only")
        args = [self.visit(arg) for arg in node.args]
        if any(isinstance(arg, (str, list)) for arg in args) and node.func.id not in ("min", "max"):
            raise self.fail(f"{node.func.id} takes numbers")
        return FUNCTIONS[node.func.id](*args)
