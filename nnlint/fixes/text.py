"""Positions in text: lines as Python splits them (\\n, \\r\\n, \\r), 1-based lines and columns."""

from __future__ import annotations

import bisect
import io


class LinePositions:
    """Converts between offsets in a text and 1-based (line, column) positions."""

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.starts = [0]
        for line in io.StringIO(text, newline="").readlines():
            if line.endswith(("\n", "\r")):
                self.starts.append(self.starts[-1] + len(line))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int | None:
        """The offset of a position, or None where the text has no such place."""
        if not 0 < line <= len(self.starts) or column < 1:
            return None
        offset = self.starts[line - 1] + column - 1
        end = self.starts[line] if line < len(self.starts) else self.length
        return offset if offset <= end else None
