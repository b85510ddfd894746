"""Where each statement sits: the block that holds it, the compound statement that owns that
block, and the statement line that holds each node (for fixes that move or insert statements)."""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from nnlint.facts.core.syntax import child_blocks, descendants


class StatementIndex:
    def __init__(self, module: cst.Module) -> None:
        self._block: dict[cst.BaseStatement, Sequence[cst.BaseStatement]] = {}
        self._owner: dict[cst.BaseStatement, cst.BaseCompoundStatement | None] = {}
        self._line: dict[cst.CSTNode, cst.SimpleStatementLine] = {}
        self._index(module.body, None)

    def _index(self, body: Sequence[cst.BaseStatement], owner: cst.BaseCompoundStatement | None) -> None:
        for statement in body:
            self._block[statement] = body
            self._owner[statement] = owner
            if isinstance(statement, cst.SimpleStatementLine):
                for node in descendants(statement):
                    self._line[node] = statement
            elif isinstance(statement, cst.BaseCompoundStatement):
                for block in child_blocks(statement):
                    if isinstance(block, cst.IndentedBlock):
                        self._index(block.body, statement)

    def sole_statement(self, expression: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The line whose only statement is `expression` (a call on a line of its own)."""
        line = self._line.get(expression)
        if line is None or len(line.body) != 1:
            return None
        small = line.body[0]
        return line if isinstance(small, cst.Expr) and small.value is expression else None

    def line_of(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        return self._line.get(node)

    def block_of(self, statement: cst.BaseStatement) -> Sequence[cst.BaseStatement] | None:
        return self._block.get(statement)

    def owner_of(self, statement: cst.BaseStatement) -> cst.BaseCompoundStatement | None:
        """The compound statement (loop, function, if...) whose block holds the statement."""
        return self._owner.get(statement)

    def enclosing_loops(self, statement: cst.BaseStatement) -> list[cst.For | cst.While]:
        """The loops around the statement within its function, innermost first."""
        loops = []
        owner = self._owner.get(statement)
        while owner is not None and not isinstance(owner, (cst.FunctionDef, cst.ClassDef)):
            if isinstance(owner, (cst.For, cst.While)):
                loops.append(owner)
            owner = self._owner.get(owner)
        return loops

    def enclosing_statements(self, statement: cst.BaseStatement) -> list[cst.BaseStatement]:
        """The statement and the compound statements around it within its function, innermost first."""
        chain: list[cst.BaseStatement] = [statement]
        owner = self._owner.get(statement)
        while owner is not None and not isinstance(owner, (cst.FunctionDef, cst.ClassDef)):
            chain.append(owner)
            owner = self._owner.get(owner)
        return chain

    def function_of(self, statement: cst.BaseStatement) -> cst.FunctionDef | None:
        """The innermost function whose body holds the statement."""
        owner = self._owner.get(statement)
        while owner is not None and not isinstance(owner, cst.FunctionDef):
            owner = self._owner.get(owner)
        return owner

    def in_block_of(self, statement: cst.BaseStatement, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement of `statement`'s block that holds `node` (itself or a statement it nests)."""
        block = self._block.get(statement)
        current: cst.BaseStatement | None = self._line.get(node)
        while current is not None and self._block.get(current) is not block:
            current = self._owner.get(current)
        return current
