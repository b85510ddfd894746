"""Positions between the engine and the client. Findings and fixes are 1-based, columns in
characters (code points); LSP is 0-based, columns in the client's code units (UTF-16 unless the
client negotiated another encoding), and both number lines as Python does (\\n, \\r\\n, \\r)."""

from __future__ import annotations

import difflib
import io
from typing import Sequence

from lsprotocol import types
from pygls.workspace import PositionCodec

from nnlint.files import physical_lines


class Lines:
    """A text's lines, to place 1-based character positions in the client's units."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.lines = physical_lines(text)
        self.codec = codec

    def position(self, line: int, column: int) -> types.Position:
        index = max(line, 1) - 1
        if index >= len(self.lines):  # after the last line break
            return types.Position(line=len(self.lines), character=0)
        return types.Position(line=index, character=self.codec.client_num_units(self.lines[index][:max(column, 1) - 1]))

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        """A range; a position alone (no end, or an end before the start) is an empty range."""
        start = self.position(line, column)
        end = self.position(end_line, end_column) if (end_line, end_column) > (line, column) else start
        return types.Range(start=start, end=end)


def contains(outer: types.Range, inner: types.Range) -> bool:
    """Whether two ranges meet (a cursor at either end of a range touches it)."""
    return _key(outer.start) <= _key(inner.end) and _key(inner.start) <= _key(outer.end)


def _key(position: types.Position) -> tuple[int, int]:
    return position.line, position.character


def text_edits(old: str, new: str, codec: PositionCodec) -> list[types.TextEdit]:
    """Edits that turn `old` into `new`, one per changed run of whole lines."""
    old_lines = io.StringIO(old, newline="").readlines()
    new_lines = io.StringIO(new, newline="").readlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    return [types.TextEdit(range=types.Range(start=_line_start(old_lines, first, codec),
                                             end=_line_start(old_lines, last, codec)),
                           new_text="".join(new_lines[new_first:new_last]))
            for tag, first, last, new_first, new_last in matcher.get_opcodes() if tag != "equal"]


def _line_start(lines: Sequence[str], index: int, codec: PositionCodec) -> types.Position:
    """Where line `index` starts; past the last line, the end of the text (which may not end
    with a line break)."""
    if index < len(lines) or not lines or lines[-1].endswith(("\n", "\r")):
        return types.Position(line=index, character=0)
    return types.Position(line=len(lines) - 1, character=codec.client_num_units(lines[-1]))
