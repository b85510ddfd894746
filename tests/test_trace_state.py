"""The tracer observes and never changes: same results, and the process as it found it."""

from __future__ import annotations

import io
import runpy
import sys
from contextlib import redirect_stdout
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn.modules import module as module_hooks  # noqa: E402
from torch.optim import optimizer as optimizer_hooks  # noqa: E402

import nnlint.trace  # noqa: E402
from helpers import FIXTURES  # noqa: E402
from nnlint.trace.runner import FAILED, FINISHED, INTERRUPTED, STOPPED, trace_script  # noqa: E402

TRACE = FIXTURES / "trace"


def _process_state() -> dict[str, Any]:
    return {
        "forward hooks": dict(module_hooks._global_forward_hooks),
        "forward pre-hooks": dict(module_hooks._global_forward_pre_hooks),
        "always-called hooks": dict(module_hooks._global_forward_hooks_always_called),
        "backward hooks": dict(module_hooks._global_backward_hooks),
        "optimizer pre-hooks": dict(optimizer_hooks._global_optimizer_pre_hooks),
        "optimizer post-hooks": dict(optimizer_hooks._global_optimizer_post_hooks),
        "autograd.backward": torch.autograd.backward,
        "Module.__init__": nn.Module.__dict__["__init__"],
        "Module.zero_grad": nn.Module.__dict__["zero_grad"],
        "Optimizer.__init__": torch.optim.Optimizer.__dict__["__init__"],
        "Optimizer.zero_grad": torch.optim.Optimizer.__dict__["zero_grad"],
        "DataLoader.__init__": torch.utils.data.DataLoader.__dict__["__init__"],
        "DataLoader.__iter__": torch.utils.data.DataLoader.__dict__["__iter__"],
        "torch function modes": torch._C._len_torch_function_stack(),
        "grad enabled": torch.is_grad_enabled(),
        "trace function": sys.gettrace(),
        "argv": list(sys.argv),
        "path": list(sys.path),
        "__main__": sys.modules["__main__"],
    }


def _printed(run: Any) -> tuple[Any, list[str]]:
    out = io.StringIO()
    with redirect_stdout(out):
        result = run()
    return result, out.getvalue().splitlines()


@pytest.mark.parametrize("script, outcome", [
    ("healthy.py", STOPPED), ("nn401_missing_eval.py", FINISHED), ("crashes.py", FAILED),
    ("interrupted.py", INTERRUPTED),
])
def test_every_hook_is_removed_however_the_script_ends(script: str, outcome: str) -> None:
    before = _process_state()
    run, _ = _printed(lambda: trace_script(TRACE / script, steps=3))
    assert run.outcome == outcome
    assert _process_state() == before


def test_every_hook_is_removed_after_overfitting_one_batch() -> None:
    before = _process_state()
    run, _ = _printed(lambda: trace_script(TRACE / "nn804_cannot_overfit_one_batch.py", steps=3, overfit_batch=True))
    assert run.outcome == STOPPED
    assert _process_state() == before


def test_the_traced_run_computes_exactly_what_the_untraced_run_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    script = str(TRACE / "healthy.py")
    monkeypatch.setattr(sys, "argv", [script])
    _, plain = _printed(lambda: runpy.run_path(script, run_name="__main__"))
    run, traced = _printed(lambda: trace_script(script, steps=None))
    assert run.outcome == FINISHED
    assert any(line.startswith("loss") for line in plain)
    assert traced == plain


def test_the_run_stops_after_the_requested_steps() -> None:
    run, printed = _printed(lambda: trace_script(TRACE / "healthy.py", steps=2))
    assert run.outcome == STOPPED and run.steps == 2
    # Two micro-batches per step; the evaluation after the first epoch (two steps) is still watched.
    assert [line.split()[0] for line in printed] == ["loss"] * 4 + ["epoch"]


def test_watch_leaves_no_hook_on_the_model_and_reports_findings() -> None:
    before = _process_state()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with nnlint.trace.watch(steps=2) as trace:
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(torch.randn(8, 4)), torch.randint(0, 3, (8,)))
            loss.backward()  # noqa: NN301 (the tracer must see this bug)
            optimizer.step()
    assert _process_state() == before
    assert trace.steps_run == 2
    assert [(f.code, f.line) for f in trace.findings] == [("NN301", loss_line())]
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks for m in model.modules())
    assert all(not p._backward_hooks and not getattr(p, "_post_accumulate_grad_hooks", None)
               for p in model.parameters())


def loss_line() -> int:
    import inspect

    source, start = inspect.getsourcelines(test_watch_leaves_no_hook_on_the_model_and_reports_findings)
    return start + next(i for i, line in enumerate(source) if "loss.backward()" in line)


def test_watch_restores_everything_when_the_block_raises() -> None:
    before = _process_state()
    with pytest.raises(ValueError, match="boom"):
        with nnlint.trace.watch():
            nn.Linear(2, 2)(torch.randn(1, 2))
            raise ValueError("boom")
    assert _process_state() == before
