"""Places in other files of the project, which findings point to as related locations."""

from __future__ import annotations

from dataclasses import dataclass

# 1-based line and column of the start, and of the end (exclusive), as findings are positioned.
Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class Place:
    """A span of another file: `file` as the project index knows it (absolute)."""

    file: str
    span: Span

    @property
    def line_text(self) -> str:
        """For messages that name the place inside a named helper: `its line 11`."""
        return f"its line {self.span[0]}"


def as_span(data: object) -> Span:
    """A span read back from a summary's JSON."""
    line, column, end_line, end_column = (int(value) for value in data)  # type: ignore[union-attr]
    return line, column, end_line, end_column
