"""Applying text fixes to a file's text (or to a notebook's cells): in the order of their first
edit, each fix whose edits overlap none applied before; the others wait for the next pass."""

from __future__ import annotations

from typing import Mapping, Sequence

from nnlint.diagnostics import TextFix
from nnlint.fixes.text import LinePositions

# Where an edit applies: the cell (None in a Python file), start and end offsets, new text.
Span = tuple["int | None", int, int, str]


def apply_fixes(texts: Mapping[int | None, str], fixes: Sequence[TextFix]) -> tuple[dict[int | None, str], list[int]]:
    """The texts with the fixes applied that do not collide, and the indices of those fixes.
    `texts` holds a Python file's text under None, or a notebook's cell sources by cell."""
    positions = {key: LinePositions(text) for key, text in texts.items()}
    candidates = []
    for index, fix in enumerate(fixes):
        spans = _spans(fix, positions)
        if spans:
            candidates.append((min((cell or 0, start, end) for cell, start, end, _ in spans), index, spans))
    taken: list[Span] = []
    applied: list[int] = []
    for _, index, spans in sorted(candidates, key=lambda item: item[:2]):
        if not any(_collide(span, other) for span in spans for other in taken):
            taken.extend(spans)
            applied.append(index)
    result = dict(texts)
    for cell, start, end, content in sorted(taken, key=lambda span: (span[0] or 0, span[1], span[2]), reverse=True):
        text = result[cell]
        result[cell] = text[:start] + content + text[end:]
    return result, sorted(applied)


def _spans(fix: TextFix, positions: Mapping[int | None, LinePositions]) -> list[Span] | None:
    spans = []
    for edit in fix.edits:
        lines = positions.get(edit.cell)
        if lines is None:
            return None
        start, end = lines.offset(edit.line, edit.column), lines.offset(edit.end_line, edit.end_column)
        if start is None or end is None or end < start:
            return None
        spans.append((edit.cell, start, end, edit.content))
    return spans if not any(_collide(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]) else None


def _collide(first: Span, second: Span) -> bool:
    """Two edits of one text that overlap, or two insertions at one place (whose order no one
    decided). Edits that only touch apply one after the other."""
    if first[0] != second[0]:
        return False
    (_, a_start, a_end, _), (_, b_start, b_end, _) = first, second
    if a_start == a_end == b_start == b_end:
        return True
    return a_start < b_end and b_start < a_end
