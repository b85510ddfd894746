"""Small helpers over libcst nodes that every fact builder needs."""

from __future__ import annotations

import dataclasses
from typing import Iterator, Sequence

import libcst as cst


def block_statements(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """The statements of an indented block or of a one-line suite."""
    if isinstance(block, cst.IndentedBlock):
        return block.body
    return [cst.SimpleStatementLine(body=block.body)] if isinstance(block, cst.SimpleStatementSuite) else []


def child_blocks(statement: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    """Every block nested directly in a compound statement, in source order."""
    yield statement.body
    if isinstance(statement, cst.Try | cst.TryStar):
        for handler in statement.handlers:
            yield handler.body
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            yield orelse.body
            orelse = orelse.orelse
        else:
            yield orelse.body
            orelse = None
    final = getattr(statement, "finalbody", None)
    if final is not None:
        yield final.body
    if isinstance(statement, cst.Match):
        for case in statement.cases:
            yield case.body


def walk_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """All statements below `body`, depth first, through functions and classes too."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.BaseCompoundStatement):
            for block in child_blocks(statement):
                yield from walk_statements(block_statements(block))


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """`self.model.encoder` for a chain of attributes on a name; None for anything else."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def string_value(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node below it, in source order, without libcst's (slow) visitor machinery."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        names = _CHILD_FIELDS.get(type(current))
        if names is None:
            names = _CHILD_FIELDS[type(current)] = tuple(f.name for f in dataclasses.fields(current))
        children: list[cst.CSTNode] = []
        for name in names:
            value = getattr(current, name)
            if isinstance(value, cst.CSTNode):
                children.append(value)
            elif isinstance(value, (list, tuple)):
                children.extend(item for item in value if isinstance(item, cst.CSTNode))
        stack.extend(reversed(children))


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in `node`'s subtree, `node` included, outermost first."""
    return [inner for inner in descendants(node) if isinstance(inner, cst.Call)]
