"""`nnlint trace --overfit-batch`: the first batch fed again at every step, and NN804 when the
loss does not fall to a small fraction of its first value."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from helpers import FIXTURES  # noqa: E402
from nnlint.trace.checks.progress import INCONCLUSIVE, PASSED  # noqa: E402
from nnlint.trace.cli import main  # noqa: E402
from nnlint.trace.frames import UserCode  # noqa: E402
from nnlint.trace.runner import FINISHED, trace_script  # noqa: E402
from nnlint.trace.session import Session  # noqa: E402

TRACE = FIXTURES / "trace"


def test_the_healthy_script_overfits_one_batch() -> None:
    with redirect_stdout(io.StringIO()):
        run = trace_script(TRACE / "healthy.py", ["--epochs", "20"], steps=40, overfit_batch=True)
    assert run.outcome == FINISHED and run.steps == 40
    assert run.findings == [] and not run.internal_errors
    verdict = run.measurements["overfit"]
    assert verdict.status == PASSED, verdict.summary
    losses = run.measurements["loss"]
    assert len(losses) == 40 and losses[-1] < 0.1 * losses[0]


def test_a_model_that_cannot_learn_fails_with_the_likely_causes(capsys: pytest.CaptureFixture[str]) -> None:
    script = TRACE / "nn804_cannot_overfit_one_batch.py"
    status = main(["--output-format", "json", "--overfit-batch", "--steps", "30", str(script)])
    findings = {f["code"]: f for f in json.loads(capsys.readouterr().out)}
    assert status == 1 and set(findings) == {"NN104", "NN804"}
    message = findings["NN804"]["message"]
    assert "the loss never changed" in message and "held: the first batch of each DataLoader" in message
    assert message.endswith(f"may explain it: NN104 at {findings['NN104']['path']}:21 (observed at runtime)")


def test_the_verdict_is_printed_in_text_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--overfit-batch", "--steps", "12", str(TRACE / "nn804_cannot_overfit_one_batch.py")]) == 1
    assert "nnlint trace: overfit one batch: failed: the loss went from " in capsys.readouterr().err


def test_too_few_steps_give_no_verdict() -> None:
    with redirect_stdout(io.StringIO()):
        run = trace_script(TRACE / "healthy.py", steps=None, overfit_batch=True)
    assert run.measurements["overfit"].status == INCONCLUSIVE and run.findings == []


def test_a_data_loader_gives_its_first_batch_at_every_draw_and_keeps_its_length() -> None:
    dataset = TensorDataset(torch.arange(12.0).reshape(6, 2), torch.arange(6))
    loader = DataLoader(dataset, batch_size=2, shuffle=True)
    original_iter = DataLoader.__dict__["__iter__"]
    session = Session(UserCode(), overfit_batch=True)
    session.install()
    try:
        epochs = [[batch for batch in loader] for _ in range(2)]
    finally:
        session.uninstall()
    assert DataLoader.__dict__["__iter__"] is original_iter
    assert [len(epoch) for epoch in epochs] == [3, 3]
    first_inputs, first_labels = epochs[0][0]
    for inputs, labels in (batch for epoch in epochs for batch in epoch):
        assert torch.equal(inputs, first_inputs) and torch.equal(labels, first_labels)
    assert session.run.held == ["the first batch of each DataLoader"]
