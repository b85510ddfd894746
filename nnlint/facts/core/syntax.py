"""Small helpers over libcst nodes that every fact builder needs."""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import Iterator, Sequence

import libcst as cst


def block_statements(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """The statements of an indented block or of a one-line suite."""
    if isinstance(block, cst.IndentedBlock):
        return block.body
    return [cst.SimpleStatementLine(body=block.body)] if isinstance(block, cst.SimpleStatementSuite) else []


def child_blocks(statement: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    """Every block nested directly in a compound statement, in source order."""
    if isinstance(statement, cst.Match):  # its blocks are its cases': it has no body of its own
        for case in statement.cases:
            yield case.body
        return
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


def walk_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """All statements below `body`, depth first, through functions and classes too."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.BaseCompoundStatement):
            for block in child_blocks(statement):
                yield from walk_statements(block_statements(block))


def own_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """All statements below `body` in source order, not entering the functions and classes
    defined there (whose code does not run where they are defined)."""
    for statement in body:
        yield statement
        nested_code = isinstance(statement, (cst.FunctionDef, cst.ClassDef))
        if isinstance(statement, cst.BaseCompoundStatement) and not nested_code:
            for block in child_blocks(statement):
                yield from own_statements(block_statements(block))


def enclosing_functions(module: cst.Module,
                        across_classes: bool = False) -> dict[cst.FunctionDef, cst.FunctionDef | None]:
    """The function each function is defined in (None at module or class level; with
    `across_classes`, the methods of a class defined in a function count as defined in it)."""
    parents: dict[cst.FunctionDef, cst.FunctionDef | None] = {}

    def walk(body: Sequence[cst.BaseStatement], enclosing: cst.FunctionDef | None) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                parents[statement] = enclosing
                walk(block_statements(statement.body), statement)
            elif isinstance(statement, cst.ClassDef):
                walk(block_statements(statement.body), enclosing if across_classes else None)
            elif isinstance(statement, cst.BaseCompoundStatement):
                for block in child_blocks(statement):
                    walk(block_statements(block), enclosing)

    walk(module.body, None)
    return parents


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """`self.model.encoder` for a chain of attributes on a name; None for anything else."""
    parts: list[str] = []
    while type(expr) is cst.Attribute:  # exact types: isinstance on libcst's ABCs is slow here
        parts.append(expr.attr.value)
        expr = expr.value
    if type(expr) is not cst.Name:
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def string_value(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def integer_value(expr: cst.BaseExpression) -> int | None:
    """The value of an integer literal, negated ones included (`-1`)."""
    if isinstance(expr, cst.Integer):
        return int(expr.value, 0)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(
            expr.expression, cst.Integer):
        return -int(expr.expression.value, 0)
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def passed_arg(call: cst.Call, name: str, position: int) -> cst.Arg | None:
    """The argument a call passes for a parameter: by its name, else at its position."""
    keyword = keyword_arg(call, name)
    if keyword is not None:
        return keyword
    arguments = positional_args(call)
    return arguments[position] if 0 <= position < len(arguments) else None


# Fields that hold only whitespace and punctuation: no walker needs to enter them.
_LAYOUT_FIELD_PREFIXES = (
    "whitespace", "lpar", "rpar", "comma", "leading_lines", "trailing_whitespace", "header", "footer",
    "semicolon", "lines_after_decorators", "newline", "equal", "colon", "dot", "operator", "lbracket",
    "rbracket", "lbrace", "rbrace", "lines_after",
)


_CONTENT_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE_TYPES: dict[type, bool] = {}


def _content_fields(node_type: type) -> tuple[str, ...]:
    found = _CONTENT_FIELDS.get(node_type)
    if found is None:
        found = _CONTENT_FIELDS[node_type] = tuple(
            f.name for f in fields(node_type) if not f.name.startswith(_LAYOUT_FIELD_PREFIXES))
    return found


def _is_node_type(value_type: type) -> bool:
    found = _NODE_TYPES.get(value_type)
    if found is None:
        found = _NODE_TYPES[value_type] = issubclass(value_type, cst.CSTNode)
    return found


def sub_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes that carry code (mostly in source order), skipping whitespace and punctuation.

    Many times faster than `node.children`, which rebuilds every child list on each access;
    the hottest function of the analysis, hence plain dictionaries and a list, not a generator.
    """
    children: list[cst.CSTNode] = []
    node_types = _NODE_TYPES
    for name in _CONTENT_FIELDS.get(type(node)) or _content_fields(type(node)):
        value = getattr(node, name)
        value_type = type(value)
        if value_type is tuple or value_type is list:  # libcst's sequences hold nodes only
            children.extend(value)
        elif node_types.get(value_type) or _is_node_type(value_type):
            children.append(value)
    return children


@lru_cache(maxsize=None)
def _is_expression_type(node_type: type) -> bool:
    return issubclass(node_type, cst.BaseExpression)


@lru_cache(maxsize=None)
def _is_statement_type(node_type: type) -> bool:
    return issubclass(node_type, cst.BaseStatement)


def expressions_in(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The expressions directly below `node`, looking through wrappers such as Arg."""
    for child in sub_nodes(node):
        child_type = type(child)
        if _is_expression_type(child_type):
            yield child
        elif not _is_statement_type(child_type):
            yield from expressions_in(child)


_EMPTY_MODULE = cst.Module(body=[])


def source_code(node: cst.CSTNode | None) -> str:
    """The node's code as written (generated from the tree: costly, keep it off hot paths)."""
    return _EMPTY_MODULE.code_for_node(node) if node is not None else ""


def code_snippet(node: cst.CSTNode, limit: int = 48) -> str:
    """The node's code on one line, shortened to `limit` characters for a message."""
    text = " ".join(source_code(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main_guard(module: cst.Module) -> cst.If | None:
    """The top-level `if __name__ == "__main__":` block, if the file has one."""
    for statement in module.body:
        if not isinstance(statement, cst.If) or not isinstance(statement.test, cst.Comparison):
            continue
        test = statement.test
        operands = [test.left, *(target.comparator for target in test.comparisons)]
        names = {operand.value for operand in operands if isinstance(operand, cst.Name)}
        strings = {string_value(operand) for operand in operands}
        if "__name__" in names and "__main__" in strings:
            return statement
    return None


def bound_names(body: Sequence[cst.BaseStatement]) -> Iterator[str]:
    """Names the statements bind by assignment, `for`, `with ... as`, `def` and `class`,
    not looking into nested functions or classes."""
    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            yield statement.name.value
            continue
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.Assign):
                    targets = [target.target for target in small.targets]
                elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                    targets = [small.target]
                for target in targets:
                    yield from target_names(target)
            continue
        if isinstance(statement, cst.For):
            yield from target_names(statement.target)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                if item.asname is not None:
                    yield from target_names(item.asname.name)
        if isinstance(statement, cst.BaseCompoundStatement):
            for block in child_blocks(statement):
                yield from bound_names(block_statements(block))


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """The plain names an assignment target binds: `x`, `a, (b, *c)`."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node below it that carries code, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(tuple(sub_nodes(current))))


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in `node`'s subtree, `node` included, outermost first."""
    return [inner for inner in descendants(node) if isinstance(inner, cst.Call)]
