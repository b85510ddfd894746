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


class _Failing(Check):
    def module_exit(self, call: ModuleCall) -> None:
        raise RuntimeError("always fails")


def test_an_internal_error_is_kept_once_with_its_count_and_the_other_checks_go_on() -> None:
    session = Session(UserCode(), checks=(_Failing, *CHECKS))
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    session.install()
    try:
        for _ in range(3):
            optimizer.zero_grad()
            model(torch.randn(4, 2)).sub(1).log().sum().backward()  # log of negative numbers: NaN
            optimizer.step()
    finally:
        session.uninstall()
    findings = session.finish()
    assert len(session.internal_errors) == 1
    assert session.internal_errors[0].startswith("RuntimeError: always fails (")
    assert session.internal_errors[0].endswith(" [9 times]")  # three modules, three calls
    assert "NN801" in {f.code for f in findings}


def test_a_static_finding_the_run_disproves(capsys: pytest.CaptureFixture[str]) -> None:
    """The linter takes `model.embed(x)` under no_grad for a model in training mode; the run
    sees a plain method whose layers are all in eval mode. Shown, but the run does not fail."""
    status = main(["--output-format", "json", str(TRACE / "static_false_positive_nn401.py")])
    findings = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(f["line"], f["code"]) for f in findings] == [(38, "NN401")]
    assert findings[0]["message"].endswith(
        "(disproved at runtime: Sequential ran without gradients with no Dropout or BatchNorm in training mode)")
