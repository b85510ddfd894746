"""What the tracer reports: a finding observed at runtime, positioned at the user's source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class TraceFinding:
    """A fact observed while the training code ran, at the user's line that caused it.

    `related` holds other (path, line) pairs that point at the same bug (where the module
    was created, the call that ran it...), so that a static finding reported at any of them
    is recognised as the same problem; `scope` is the (first, last) line of the function
    that made the call. `evidence` holds what was measured.
    """

    code: str
    path: str
    line: int
    column: int
    message: str
    evidence: Mapping[str, object] = field(default_factory=dict)
    step: int | None = None
    end_line: int = 0
    end_column: int = 0
    related: tuple[tuple[str, int], ...] = ()
    scope: tuple[int, int] | None = None

    def lines_in(self, path: str) -> set[int]:
        """Every line of `path` this finding points at."""
        lines = {line for other, line in self.related if other == path}
        if self.path == path:
            lines.add(self.line)
        return lines
