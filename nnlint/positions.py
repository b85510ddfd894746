"""Where reported nodes are in the file: line and column, start and end.

libcst's PositionProvider regenerates the code of the whole module to count positions, which
on a large file costs more than parsing it. Findings sit in a few top-level statements, so
only those are measured, each on its own, and shifted to the line where `ast` (fast, and
already trusted for the syntax check) says the statement starts."""

from __future__ import annotations

import ast
import warnings
from typing import Iterable, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from nnlint.facts.core.syntax import descendants


def node_positions(module: cst.Module, text: str, nodes: Iterable[cst.CSTNode]) -> Mapping[cst.CSTNode, CodeRange]:
    """The code range of each node that is part of `module` (others are left out)."""
    wanted = set(nodes)
    starts = _statement_lines(module, text)
    if starts is None or module in wanted:
        return _whole_module(module)
    found: dict[cst.CSTNode, CodeRange] = {}
    for statement, first_line in zip(module.body, starts):
        inside = [node for node in descendants(statement) if node in wanted]
        if not inside:
            continue
        positions = MetadataWrapper(module.with_changes(body=[statement]), unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first_line - positions[statement].start.line
        for node in inside:
            where = positions[node]
            found[node] = CodeRange((where.start.line + shift, where.start.column),
                                    (where.end.line + shift, where.end.column))
        wanted.difference_update(inside)
        if not wanted:
            break
    return found


def statement_cells(module: cst.Module, text: str, line_cells: Sequence[int]) -> dict[cst.CSTNode, int]:
    """The notebook cell each top-level statement starts in, given the cell of each line of `text`."""
    starts = _statement_lines(module, text) or []
    return {statement: line_cells[min(line, len(line_cells)) - 1]
            for statement, line in zip(module.body, starts) if line_cells}


def _whole_module(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def _statement_lines(module: cst.Module, text: str) -> list[int] | None:
    """The line each top-level statement of `module` starts on (for both libcst and ast, that of
    `def` or `class`, after any decorators); None where the two do not see the same statements."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts = [statement.lineno for statement in tree.body]
    lines, consumed = [], 0
    for statement in module.body:
        if consumed >= len(starts):
            return None
        lines.append(starts[consumed])
        consumed += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return lines if consumed == len(starts) else None
