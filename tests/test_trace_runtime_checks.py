"""Runtime-only checks beyond their fixtures: a diverging run's gradient norm (NN810),
--overfit-batch turning off the same-batch check (NN805) that its own holding would trip, and
the batch-mixing probe (NN811) leaving the model and the random numbers as they were."""

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


def test_the_batch_mixing_probe_changes_nothing() -> None:
    """It runs a copy of the model on a copy of the batch: the model's weights, BatchNorm
    statistics and mode, and the random number generator are as the script left them."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with nnlint.trace.watch() as trace:
        for _ in range(3):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(torch.randn(8, 6)), torch.randint(0, 3, (8,))).backward()
            optimizer.step()
        state = {name: value.clone() for name, value in model.state_dict().items()}
        random_state = torch.get_rng_state()
    assert trace.findings == []
    assert all(torch.equal(state[name], value) for name, value in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), random_state)
    assert model.training and all(m.training for m in model.modules())
