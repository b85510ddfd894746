"""A progress bar for long runs, on one line of stderr, drawn only when stderr is a terminal.

Never drawn into a pipe or a file (CI logs, editors, pre-commit), never for a run shorter
than DELAY seconds, and erased when the run ends, so findings and the summary print as
always."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

DELAY = 0.5  # seconds before the bar appears
REDRAW = 0.1  # seconds between two redraws at most
ERASE_LINE = "\r\x1b[K"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """`nnlint linting [#########---------] 1234/3430 files  12s`. Without a stream, or with
    one that is not a terminal, every method does nothing."""

    def __init__(self, stream: TextIO | None = None, delay: float = DELAY) -> None:
        self.stream = stream if stream is not None and _is_terminal(stream) else None
        self.delay = delay
        self.started = time.monotonic()
        self.name = ""
        self.total = 0
        self.done = 0
        self._drawn_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def phase(self, name: str, total: int) -> None:
        """Start counting a pass over `total` files."""
        self.name, self.total, self.done = name, total, 0
        self._draw()

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def close(self) -> None:
        if self.stream is not None and self._drawn_at is not None:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
        self._drawn_at = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _draw(self) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.started < self.delay or (self._drawn_at is not None and now - self._drawn_at < REDRAW
                                                and self.done < self.total):
            return
        columns = shutil.get_terminal_size((80, 24)).columns
        counts = f" {self.done}/{self.total} files  {now - self.started:.0f}s"
        label = f"nnlint {self.name} "
        width = max(10, min(40, columns - len(label) - len(counts) - 3))
        filled = width * min(self.done, self.total) // max(self.total, 1)
        line = f"{label}[{'#' * filled}{'-' * (width - filled)}]{counts}"
        self.stream.write("\r" + line[: max(columns - 1, 1)] + "\x1b[K")
        self.stream.flush()
        self._drawn_at = now
