"""NN201: probabilities from softmax fed to cross-entropy, which applies log_softmax itself."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.dataflow import CallEvent
from nnlint.facts.torch_api import CROSS_ENTROPY
from nnlint.facts.values import Kind
from nnlint.fixes import Fix
from nnlint.fixes.loss_inputs import dropped_activation, loss_input, removed_last_layer
from nnlint.rules import Report, Rule

SOFTMAX_FUNCTIONS = frozenset({"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"})
SOFTMAX_LAYERS = frozenset({"torch.nn.Softmax", "torch.nn.modules.activation.Softmax"})


def _fix(call: CallEvent, softmax: object, loss_arguments: list, facts: FileFacts) -> Fix | None:
    """The softmax dropped where the loss input is its only use (safe), or the model's last
    nn.Softmax layer removed (unsafe: inference code may rely on the model's probabilities)."""
    if not isinstance(softmax, cst.Call):
        return None
    if facts.names.qualname(softmax.func) in SOFTMAX_LAYERS:
        return removed_last_layer(softmax, facts, "softmax")
    return dropped_activation(softmax, loss_input(call.node), call.function.node, loss_arguments,
                              SOFTMAX_FUNCTIONS, "softmax", facts, "softmax")


def check(facts: FileFacts) -> Iterator[Report]:
    found = [(call, call.arg(0, "input")) for call in facts.dataflow.calls() if call.loss_family == CROSS_ENTROPY]
    found = [(call, scores) for call, scores in found if scores.kind is Kind.PROBS]
    loss_arguments = [argument for call, _ in found if (argument := loss_input(call.node)) is not None]
    for call, scores in found:
        yield Report(
            call.node,
            f"probabilities from {scores.producer} reach {call.result.producer}, which applies "
            "log_softmax itself: pass the raw logits",
            partial(_fix, call, scores.origin, loss_arguments, facts),
        )


RULE = Rule(
    code="NN201",
    name="softmax-into-cross-entropy",
    severity=Severity.ERROR,
    summary="Probabilities from softmax reach CrossEntropyLoss / F.cross_entropy, which expects logits.",
    check=check,
    triggers=("cross_entropy", "CrossEntropyLoss", "Loss"),
    fixes=(Applicability.SAFE, Applicability.UNSAFE),
)
