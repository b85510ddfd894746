"""Fixes that move a statement (a `zero_grad()`, a `scheduler.step()`, a clipping call) to the
other side of another one in the same block."""

from __future__ import annotations

import libcst as cst

from nnlint.diagnostics import Applicability
from nnlint.facts.core.statements import StatementIndex
from nnlint.fixes import Fix, InsertAfter, InsertBefore, Remove

LOOPS = (cst.For, cst.While)


def moved(statements: StatementIndex, call: cst.CSTNode, anchor: cst.CSTNode, where: str, message: str,
          applicability: Applicability = Applicability.SAFE) -> Fix | None:
    """The line that is just `call` moved "before" or "after" the statement of its block that
    holds `anchor`, or to the "top of the loop" whose body holds both; None where the two are
    not in one block or are already in that order."""
    line = statements.sole_statement(call)
    target = statements.in_block_of(line, anchor) if line is not None else None
    if line is None or target is None or target is line:
        return None
    block = statements.block_of(line)
    position, target_position = block.index(line), block.index(target)
    moving = line.with_changes(leading_lines=())
    if where == "after" and position < target_position:
        return Fix(message, (Remove(line), InsertAfter(target, (moving,))), applicability)
    if where == "top of the loop" and target_position < position and isinstance(statements.owner_of(line), LOOPS):
        target = block[0]
    if where in ("before", "top of the loop") and target_position < position:
        return Fix(message, (Remove(line), InsertBefore(target, (moving,))), applicability)
    return None
