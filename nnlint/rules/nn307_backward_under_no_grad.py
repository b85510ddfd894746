"""NN307: backward() called with gradients disabled (torch.no_grad / inference_mode)."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.training import Effect
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for action in trace:
            if action.effect is Effect.BACKWARD and action.no_grad:
                where = "in a helper called " if action.via and not action.event.no_grad else ""
                yield Report(
                    action.node,
                    f"backward() runs {where}under torch.no_grad()/inference_mode(): the loss has no graph, "
                    "so backward() raises or computes nothing; compute the loss and call backward() with "
                    "gradients enabled",
                )


RULE = Rule(
    code="NN307",
    name="backward-under-no-grad",
    severity=Severity.ERROR,
    summary="backward() is called inside torch.no_grad() or torch.inference_mode().",
    check=check,
    triggers=("no_grad", "inference_mode", "set_grad_enabled"),
)
