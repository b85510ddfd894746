"""Defects met on real training scripts: torch.compile'd models, evaluation under
torch.inference_mode(), a tracer error repeated at every event, and static findings that the
run shows to be wrong."""

from __future__ import annotations

import io
import json
import runpy
from contextlib import redirect_stdout

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from helpers import FIXTURES  # noqa: E402
from nnlint.trace.checks.base import Check, ModuleCall  # noqa: E402
from nnlint.trace.cli import main  # noqa: E402
from nnlint.trace.frames import UserCode  # noqa: E402
from nnlint.trace.runner import FINISHED, trace_script  # noqa: E402
from nnlint.trace.session import CHECKS, Session  # noqa: E402

TRACE = FIXTURES / "trace"


def _compiler_statistics(run) -> tuple[dict, object]:
    from torch._dynamo.utils import counters

    counters.clear()
    with redirect_stdout(io.StringIO()):
        result = run()
    return {key: dict(value) for key, value in counters.items() if key in ("stats", "graph_break")}, result


def test_compiled_code_is_left_alone() -> None:
    """The compiler sees the same graphs, without a break, as without the tracer: the hooks
    neither fail inside compiled code nor slow it down."""
    script = str(TRACE / "healthy_compiled.py")
    plain, _ = _compiler_statistics(lambda: runpy.run_path(script, run_name="__main__"))
    traced, run = _compiler_statistics(lambda: trace_script(script, steps=None))
    assert run.outcome == FINISHED and run.steps == 6
    assert not run.internal_errors and not run.findings
    assert "graph_break" not in traced and traced == plain
