"""NN201: probabilities from softmax fed to cross-entropy, which applies log_softmax itself."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.loss_inputs import LossInput
from nnlint.facts.pytorch.torch_api import CROSS_ENTROPY
from nnlint.facts.core.values import Kind
from nnlint.fixes import Fix
from nnlint.fixes.loss_inputs import dropped_activation, entry_argument, entry_function, removed_last_layer
from nnlint.rules import Report, Rule

SOFTMAX_FUNCTIONS = frozenset({"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"})
SOFTMAX_LAYERS = frozenset({"torch.nn.Softmax", "torch.nn.modules.activation.Softmax"})


def _fix(entry: LossInput, loss_arguments: list[cst.BaseExpression], facts: FileFacts) -> Fix | None:
    """The softmax dropped where the loss input is its only use (safe), or the model's last
    nn.Softmax layer removed (unsafe: inference code may rely on the model's probabilities)."""
    softmax = entry.value.origin
    if not isinstance(softmax, cst.Call):
        return None
    if facts.names.qualname(softmax.func) in SOFTMAX_LAYERS:
        return removed_last_layer(softmax, facts, "softmax")
    return dropped_activation(softmax, entry_argument(entry), entry_function(entry, facts), loss_arguments,
                              SOFTMAX_FUNCTIONS, "softmax", facts, "softmax")


def check(facts: FileFacts) -> Iterator[Report]:
    found = [entry for entry in facts.loss_inputs if entry.family == CROSS_ENTROPY and entry.value.kind is Kind.PROBS]
    loss_arguments = [argument for entry in found if (argument := entry_argument(entry)) is not None]
    for entry in found:
        yield Report(
            entry.node,
            f"probabilities from {entry.value.producer} reach {entry.loss}{entry.through(facts.where)}, which applies "
            "log_softmax itself: pass the raw logits",
            partial(_fix, entry, loss_arguments, facts),
            entry.related,
            entry.related_elsewhere,
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
