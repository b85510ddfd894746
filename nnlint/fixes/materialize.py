"""From a rule's tree edits to text edits.

Each edit is applied on its own to the top-level statement that holds it, libcst generates that
statement's code again (comments and formatting inside the edited node come along, as it keeps
them), and the difference to the original code becomes a text edit. The difference is pinned to
the edited node: it always covers the node's own range (or, for an insertion, the point where
the new statements go), so that two edits of repeated text never slide past each other. A fix
whose edit would delete a comment is offered as unsafe only."""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from nnlint.diagnostics import Applicability, TextEdit, TextFix
from nnlint.facts.core.syntax import descendants
from nnlint.fixes import Fix, InsertAfter, InsertBefore, NodeEdit, Remove, Replace
from nnlint.fixes.text import LinePositions


def text_fixes(module: cst.Module, text: str, fixes: Sequence[Fix | None]) -> list[TextFix | None]:
    """Each fix as text edits of `text` (which `module` was parsed from), or None where it
    cannot be expressed (a node outside the module, an edit libcst cannot generate)."""
    if not any(fixes):
        return [None] * len(fixes)
    source = _Source(module, text)
    results: list[TextFix | None] = []
    for fix in fixes:
        try:
            results.append(source.text_fix(fix) if fix is not None else None)
        except (ValueError, TypeError, AttributeError, KeyError, cst.CSTValidationError):
            results.append(None)  # a fix that cannot be generated is not offered
    return results


class _Source:
    """The module's top-level statements, where each starts in the text, and their positions."""

    def __init__(self, module: cst.Module, text: str) -> None:
        self.module = module
        self.text = text
        self._lines: LinePositions | None = None
        self._statement_offsets: list[int] | None = None
        self._statement_of: dict[cst.CSTNode, int] = {}
        self._searched = 0
        self._positions: dict[int, tuple[cst.Module, dict[cst.CSTNode, CodeRange], list[int]]] = {}

    def text_fix(self, fix: Fix) -> TextFix | None:
        by_statement: dict[int, list[NodeEdit]] = {}
        for edit in fix.edits:
            by_statement.setdefault(self._statement_index(_target(edit)), []).append(edit)
        spans: list[tuple[int, int, str]] = []
        applicability = fix.applicability
        for index, edits in by_statement.items():
            pieces = [self._span(index, [edit]) for edit in edits]
            if _overlapping(pieces):
                pieces = [self._span(index, edits)]
            for start, end, content, keeps_comments in pieces:
                spans.append((start, end, content))
                if not keeps_comments:
                    applicability = Applicability.UNSAFE
        spans.sort()
        if not spans or _overlapping([(*span, True) for span in spans]):
            return None
        edits = tuple(TextEdit(*self._line_column(start), *self._line_column(end), content)
                      for start, end, content in spans if self.text[start:end] != content)
        return TextFix(applicability, fix.message, edits) if edits else None

    def _statement_index(self, node: cst.CSTNode) -> int:
        if node in self._statement_of:
            return self._statement_of[node]
        body = self.module.body
        while self._searched < len(body):
            statement = body[self._searched]
            for inner in descendants(statement):
                self._statement_of[inner] = self._searched
            self._searched += 1
            if node in self._statement_of:
                return self._statement_of[node]
        raise KeyError("the edited node is not part of the module")

    def _offsets(self) -> list[int]:
        if self._statement_offsets is None:
            offset = sum(len(self.module.code_for_node(line)) for line in self.module.header)
            offsets = []
            for statement in self.module.body:
                offsets.append(offset)
                offset += len(self.module.code_for_node(statement))
            self._statement_offsets = offsets
        return self._statement_offsets

    def _alone(self, index: int) -> tuple[cst.Module, dict[cst.CSTNode, CodeRange], list[int]]:
        """The statement as a module of its own, its nodes' positions and its line starts."""
        if index not in self._positions:
            alone = self.module.with_changes(body=[self.module.body[index]], header=(), footer=(),
                                             has_trailing_newline=True)
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            self._positions[index] = (alone, dict(positions), LinePositions(alone.code).starts)
        return self._positions[index]

    def _span(self, index: int, edits: list[NodeEdit]) -> tuple[int, int, str, bool]:
        """(start, end, content, keeps every comment) in the text for edits of one statement."""
        alone, positions, lines = self._alone(index)
        old = _code(alone)
        edited = alone.visit(_Editor(edits))
        new = _code(edited)
        offset = self._offsets()[index]
        if self.text[offset:offset + len(old)] != old:
            newline = self.module.default_newline  # the file's last line has no line break
            if old.endswith(newline) and new.endswith(newline) and self.text[offset:] == old[:-len(newline)]:
                old, new = old[:-len(newline)], new[:-len(newline)]
            else:
                raise ValueError("the statement's code is not where the text has it")
        anchor_start = min(_anchor(edit, positions, lines)[0] for edit in edits)
        anchor_end = max(_anchor(edit, positions, lines)[1] for edit in edits)
        prefix = min(_common_prefix(old, new), anchor_start)
        suffix = min(_common_prefix(old[prefix:][::-1], new[prefix:][::-1]), len(old) - max(anchor_end, prefix))
        keeps_comments = not (Counter(_comments(alone)) - Counter(_comments(edited)))
        return offset + prefix, offset + len(old) - suffix, new[prefix:len(new) - suffix], keeps_comments

    def _line_column(self, offset: int) -> tuple[int, int]:
        if self._lines is None:
            self._lines = LinePositions(self.text)
        return self._lines.position(offset)


def _code(module: cst.Module) -> str:
    """The module's code as its statements give it (`Module.code` writes a line break into an
    empty module)."""
    return "".join(module.code_for_node(node) for node in (*module.header, *module.body, *module.footer))


def _target(edit: NodeEdit) -> cst.CSTNode:
    return edit.node if isinstance(edit, Replace) else edit.statement


def _anchor(edit: NodeEdit, positions: dict[cst.CSTNode, CodeRange], lines: list[int]) -> tuple[int, int]:
    """The offsets, in the statement's code, that the edit's text edit must cover."""
    def offset(line: int, column: int) -> int:
        return lines[line - 1] + column

    if isinstance(edit, InsertBefore):
        where = positions[edit.statement].start
        comment = next((line for line in edit.statement.leading_lines if line.comment is not None), None)
        if comment is not None:
            where = positions[comment].start
        point = offset(where.line, where.column)
        return point, point
    if isinstance(edit, InsertAfter):
        point = offset(positions[edit.statement].end.line, positions[edit.statement].end.column)
        return point, point
    where = positions[_target(edit)]
    return offset(where.start.line, where.start.column), offset(where.end.line, where.end.column)


def _overlapping(spans: Sequence[tuple[int, int, str, bool]]) -> bool:
    ordered = sorted(spans)
    return any(later[0] < earlier[1] or (later[0] == earlier[0] and later[0] == later[1] == earlier[1])
               for earlier, later in zip(ordered, ordered[1:]))


def _common_prefix(first: str, second: str) -> int:
    limit = min(len(first), len(second))
    low, high = 0, limit  # binary search on equal prefixes: fast on long statements
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _comments(node: cst.CSTNode) -> Iterator[str]:
    for inner in descendants(node):
        if isinstance(inner, cst.Comment):
            yield inner.value


class _Editor(cst.CSTTransformer):
    """Applies tree edits while libcst rebuilds the tree; statement edits where their block is."""

    def __init__(self, edits: Sequence[NodeEdit]) -> None:
        super().__init__()
        self.replacements = {edit.node: edit.replacement for edit in edits if isinstance(edit, Replace)}
        self.before: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.after: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.removed = {edit.statement for edit in edits if isinstance(edit, Remove)}
        for edit in edits:
            if isinstance(edit, InsertBefore):
                self.before.setdefault(edit.statement, []).extend(edit.new)
            elif isinstance(edit, InsertAfter):
                self.after.setdefault(edit.statement, []).extend(edit.new)
        self.statements = set(self.before) | set(self.after) | self.removed

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        if original_node in self.replacements:
            return self.replacements[original_node]
        if isinstance(updated_node, (cst.IndentedBlock, cst.Module)) and any(
                statement in self.statements for statement in original_node.body):
            return self._edited_block(original_node, updated_node)
        return updated_node

    def _edited_block(self, original: cst.IndentedBlock | cst.Module,
                      updated: cst.IndentedBlock | cst.Module) -> cst.IndentedBlock | cst.Module:
        body: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []  # the comment lines above removed statements
        for old, new in zip(original.body, updated.body):
            if old in self.removed:
                carried.extend(new.leading_lines)
                continue
            if carried:
                new = new.with_changes(leading_lines=(*carried, *new.leading_lines))
                carried = []
            if old in self.before:
                blank, rest = _split_blank_lines(new.leading_lines)
                inserted = list(self.before[old])
                inserted[0] = inserted[0].with_changes(leading_lines=(*blank, *inserted[0].leading_lines))
                body.extend(inserted)
                new = new.with_changes(leading_lines=rest)
            body.append(new)
            body.extend(self.after.get(old, ()))
        changes: dict = {"body": body}
        if carried:
            if isinstance(updated, cst.IndentedBlock) and not body:
                changes["body"] = [cst.SimpleStatementLine([cst.Pass()], leading_lines=carried)]
            else:
                changes["footer"] = (*carried, *updated.footer)
        elif isinstance(updated, cst.IndentedBlock) and not body:
            changes["body"] = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(**changes)


def _split_blank_lines(lines: Sequence[cst.EmptyLine]) -> tuple[tuple[cst.EmptyLine, ...], tuple[cst.EmptyLine, ...]]:
    """The blank lines before the first comment line, and the rest."""
    first_comment = next((index for index, line in enumerate(lines) if line.comment is not None), len(lines))
    return tuple(lines[:first_comment]), tuple(lines[first_comment:])
