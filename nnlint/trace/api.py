"""`nnlint.trace.watch()`: the tracer around code in a notebook or a test (torch is imported on entry)."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from nnlint.trace.findings import TraceFinding
from nnlint.trace.frames import UserCode


class watch:
    """Watch the training code run inside the block; read `.findings` after it.

        with nnlint.trace.watch(steps=5) as trace:
            train(model, loader)
        for finding in trace.findings:
            print(finding.path, finding.line, finding.code, finding.message)

    With `steps`, the block ends quietly once that many optimizer steps are done. `project`
    (a directory) says which files are the user's; by default, any file outside the standard
    library, installed packages, torch and nnlint. Every hook is removed when the block ends,
    however it ends.
    """

    def __init__(self, steps: int | None = None, project: str | os.PathLike[str] | None = None) -> None:
        if steps is not None and steps < 1:
            raise ValueError("steps must be at least 1")
        self.steps = steps
        self.project = project
        self.findings: list[TraceFinding] = []
        self.internal_errors: list[str] = []
        self.steps_run = 0
        self._session: Any = None

    def __enter__(self) -> watch:
        from nnlint.trace.session import Session

        self._session = Session(UserCode(self.project), max_steps=self.steps)
        self._session.install()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        from nnlint.trace.session import TraceStop

        session, self._session = self._session, None
        session.uninstall()
        self.findings = session.finish()
        self.internal_errors = session.internal_errors
        self.steps_run = session.steps
        return kind is not None and issubclass(kind, TraceStop)
