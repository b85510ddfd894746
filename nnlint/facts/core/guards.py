"""The conditions a call runs under: the tests of the `if` statements and `x if c else y`
expressions around it, within its own function."""

from __future__ import annotations

import libcst as cst


class Guards(cst.CSTVisitor):
    def __init__(self, module: cst.Module) -> None:
        self._conditions: dict[cst.Call, tuple[cst.BaseExpression, ...]] = {}
        self._stack: list[list[cst.BaseExpression]] = [[]]
        module.visit(self)

    def conditions_of(self, call: cst.CSTNode) -> tuple[cst.BaseExpression, ...]:
        return self._conditions.get(call, ())  # type: ignore[arg-type]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_If(self, node: cst.If) -> None:
        self._stack[-1].append(node.test)

    def leave_If(self, original_node: cst.If) -> None:
        self._stack[-1].pop()

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._stack[-1].append(node.test)

    def leave_IfExp(self, original_node: cst.IfExp) -> None:
        self._stack[-1].pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self._stack[-1]:
            self._conditions[node] = tuple(self._stack[-1])
