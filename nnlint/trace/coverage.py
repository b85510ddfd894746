"""Which lines of the user's code ran: the difference between 'not observed' and 'not exercised'."""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any, Callable

from nnlint.trace.frames import UserCode


class LineRecorder:
    """A trace function that follows only the user's frames (torch's own code runs untraced).

    It is installed only when no other tracer (a debugger, coverage.py) is active, so that
    it never takes their place; `available` then stays False and nothing is known.
    """

    def __init__(self, user: UserCode) -> None:
        self._user = user
        self._lines: dict[str, set[int]] = {}
        self._tracer = self._on_call  # one bound method, so that stop() recognises it
        self.available = False

    def start(self) -> None:
        if sys.gettrace() is not None:
            return
        self.available = True
        sys.settrace(self._tracer)

    def stop(self) -> None:
        if self.available and sys.gettrace() is self._tracer:
            sys.settrace(None)

    def files(self) -> set[str]:
        """The user's files that ran code during the recording."""
        return {os.path.realpath(name) for name, lines in self._lines.items() if lines}

    def ran(self, path: str, first: int, last: int) -> bool | None:
        """Whether any line in [first, last] of `path` ran; None when it cannot be known."""
        if not self.available:
            return None
        lines = self._lines.get(os.path.realpath(path), set())
        return any(line in lines for line in range(first, max(first, last) + 1))

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Callable | None:
        filename = frame.f_code.co_filename
        if not self._user(filename):
            return None
        lines = self._lines.get(filename)
        if lines is None:
            lines = self._lines.setdefault(os.path.realpath(filename), set())
            self._lines[filename] = lines
        lines.add(frame.f_lineno)

        def on_line(frame: FrameType, event: str, arg: Any) -> Callable:
            if event == "line":
                lines.add(frame.f_lineno)
            return on_line

        return on_line
