"""NN307: backward() called with gradients disabled (torch.no_grad / inference_mode)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.semantics import backpropagated, grad_disabled
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.rules import Report, Rule


def _graph_built_with_gradients(action: Action, facts: FileFacts, grad_enabled: dict[cst.Call, bool]) -> bool:
    """`loss = model(x)...` ran with gradients on, and only `loss.backward()` sits under no_grad:
    the graph exists, so backward() works (d2l's Trainer does this)."""
    if not grad_disabled(action.event) or not isinstance(action.node, cst.Call):  # a caller disabled gradients
        return False
    tensor = backpropagated(action.node)
    read = facts.defuse.read_of(tensor) if isinstance(tensor, cst.Name) else None
    if read is None or not read.definitions:
        return False
    return all(isinstance(d.value, cst.Call) and grad_enabled.get(d.value, False) for d in read.definitions)


def check(facts: FileFacts) -> Iterator[Report]:
    grad_enabled: dict[cst.Call, bool] = {}
    for event in facts.dataflow.calls():
        if isinstance(event.node, cst.Call):
            grad_enabled[event.node] = grad_enabled.get(event.node, True) and not grad_disabled(event)
    for _, trace in facts.training.traces():
        for action in trace:
            if action.effect is Effect.BACKWARD and action.no_grad \
                    and not _graph_built_with_gradients(action, facts, grad_enabled):
                where = "in a helper called " if action.via and not grad_disabled(action.event) else ""
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
