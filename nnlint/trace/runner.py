"""Running a user's script as `__main__` under a trace session, and putting the process back."""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from nnlint.trace.coverage import LineRecorder
from nnlint.trace.findings import TraceFinding
from nnlint.trace.frames import UserCode
from nnlint.trace.run import Clearance

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")

FINISHED, STOPPED, FAILED, INTERRUPTED = "finished", "stopped", "failed", "interrupted"


@dataclass
class ScriptRun:
    """What happened when the script ran, and what the tracer saw."""

    script: str
    outcome: str
    findings: list[TraceFinding]
    steps: int
    files: list[str]
    lines: LineRecorder
    error: BaseException | None = None
    exit_status: object = None
    internal_errors: list[str] = field(default_factory=list)
    clearances: list[Clearance] = field(default_factory=list)
    measurements: dict[str, object] = field(default_factory=dict)


def project_root(script: Path) -> Path:
    """The nearest directory above the script that holds a project marker; else the script's own."""
    for directory in script.parents:
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return script.parent


def trace_script(script: str | os.PathLike[str], argv: Sequence[str] = (), steps: int | None = 5,
                 project: str | os.PathLike[str] | None = None, overfit_batch: bool = False,
                 record: bool = False) -> ScriptRun:
    """Run `script` as __main__ (its directory first on sys.path, `argv` as its arguments) under
    the tracer, until it ends or `steps` optimizer steps are done. With `overfit_batch`, the
    first batch is fed again at every step (nnlint/trace/overfit.py); with `record`, what the
    HTML report draws is recorded in the measurements."""
    from nnlint.trace.checks.recorder import Recorder
    from nnlint.trace.session import CHECKS, Session, TraceStop

    path = Path(script).resolve()
    user = UserCode(project if project is not None else project_root(path))
    lines = LineRecorder(user)
    session = Session(user, max_steps=steps, overfit_batch=overfit_batch,
                      checks=(*CHECKS, Recorder) if record else CHECKS)
    saved_argv, saved_path = sys.argv, list(sys.path)
    modules_before = set(sys.modules)
    outcome, error, exit_status = FINISHED, None, None
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(path.parent))
    try:
        session.install()
        lines.start()
        runpy.run_path(str(path), run_name="__main__")
    except TraceStop:
        outcome = STOPPED
    except SystemExit as exit:
        exit_status = exit.code
        if exit.code not in (None, 0):
            outcome, error = FAILED, exit
    except KeyboardInterrupt as interrupt:
        outcome, error = INTERRUPTED, interrupt
    except BaseException as failure:  # the script's own failure, reported as the script's
        outcome, error = FAILED, failure
    finally:
        lines.stop()
        session.uninstall()
        sys.argv = saved_argv
        sys.path[:] = saved_path
    findings = session.finish()
    return ScriptRun(
        script=str(path), outcome=outcome, findings=findings, steps=session.steps,
        files=_project_files(path, user, lines, modules_before), lines=lines, error=error,
        exit_status=exit_status, internal_errors=session.internal_errors, clearances=session.clearances,
        measurements=session.run.measurements,
    )


def _project_files(script: Path, user: UserCode, lines: LineRecorder, modules_before: set[str]) -> list[str]:
    """The script and the files of its project whose code ran (without a line recorder: the
    project's modules it imported)."""
    files = {str(script)}
    if lines.available:
        files.update(f for f in lines.files() if f.endswith(".py"))
    else:
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            if name not in modules_before and filename and filename.endswith(".py") and user(filename):
                files.add(os.path.realpath(filename))
    return sorted(files)


def script_traceback(error: BaseException, script: str) -> str:
    """The script's traceback as Python would print it for `python SCRIPT`: without the frames
    of nnlint and runpy that ran it."""
    tracer = os.path.dirname(os.path.realpath(__file__)) + os.sep
    summary: traceback.TracebackException | None = traceback.TracebackException.from_exception(error)
    outermost = summary
    seen: set[int] = set()
    while summary is not None and id(summary) not in seen:
        seen.add(id(summary))
        frames = [f for f in summary.stack if not os.path.realpath(f.filename).startswith(tracer)]
        if summary is outermost:
            start = next((i for i, f in enumerate(frames) if os.path.realpath(f.filename) == script), 0)
            frames = frames[start:]
        summary.stack = traceback.StackSummary.from_list(frames)
        summary = summary.__cause__ or summary.__context__
    return "".join(outermost.format())
