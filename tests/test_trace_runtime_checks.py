"""Runtime-only checks beyond their fixtures: a diverging run's gradient norm (NN810), and
--overfit-batch turning off the same-batch check (NN805) that its own holding would trip."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import nnlint.trace  # noqa: E402
from helpers import FIXTURES  # noqa: E402
from nnlint.trace.runner import trace_script  # noqa: E402

TRACE = FIXTURES / "trace"


def test_a_gradient_norm_growing_at_every_step_is_reported() -> None:
    torch.manual_seed(0)
    inputs = torch.randn(64, 4) * 3
    targets = inputs.sum(dim=1, keepdim=True)
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with nnlint.trace.watch(steps=8) as trace:
        for _ in range(8):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(inputs), targets).backward()
            optimizer.step()
    growth = [f for f in trace.findings if f.code == "NN810"]
    assert len(growth) == 1 and growth[0].message.startswith("exploding gradients: the gradient norm grew from 24.1 ")


def test_holding_the_batch_on_purpose_is_no_same_batch_finding() -> None:
    run = trace_script(TRACE / "nn805_same_batch_every_step.py", steps=5, overfit_batch=True)
    assert "NN805" not in {f.code for f in run.findings}
