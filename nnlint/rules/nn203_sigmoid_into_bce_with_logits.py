"""NN203: sigmoid output into BCEWithLogitsLoss (a double sigmoid), or raw logits into BCELoss."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.loss_inputs import LossInput
from nnlint.facts.pytorch.torch_api import BCE, BCE_WITH_LOGITS
from nnlint.facts.core.values import Kind
from nnlint.fixes import Fix, Replace, unsafe_fix
from nnlint.fixes.loss_inputs import (dropped_activation, entry_argument, entry_function, removed_last_layer,
                                      renamed_function_or_layer)
from nnlint.rules import Report, Rule

_MISMATCHES = {
    (BCE_WITH_LOGITS, Kind.SIGMOID_PROBS): "sigmoid output ({producer}) is passed to {loss}, which applies the "
                                           "sigmoid itself: pass the raw logits",
    (BCE_WITH_LOGITS, Kind.PROBS): "softmax output ({producer}) is passed to {loss}, which applies a sigmoid "
                                   "itself: pass the raw logits",
    (BCE, Kind.LOGITS): "raw logits ({producer}) are passed to {loss}, which expects probabilities in [0, 1]: "
                        "use BCEWithLogitsLoss on the logits",
}
SIGMOID_FUNCTIONS = frozenset({"torch.sigmoid", "torch.nn.functional.sigmoid", "torch.special.expit"})
SIGMOID_LAYERS = frozenset({"torch.nn.Sigmoid", "torch.nn.modules.activation.Sigmoid"})
# The loss that takes logits, for each one that takes probabilities (same arguments, in order).
WITH_LOGITS = {"torch.nn.BCELoss": "BCEWithLogitsLoss",
               "torch.nn.functional.binary_cross_entropy": "binary_cross_entropy_with_logits"}


def _fix(entry: LossInput, loss_arguments: list[cst.BaseExpression], facts: FileFacts) -> Fix | None:
    """A sigmoid before BCEWithLogitsLoss dropped (safe where the loss input is its only use,
    unsafe elsewhere or as the model's last nn.Sigmoid layer); logits into BCELoss: the loss
    becomes BCEWithLogitsLoss (unsafe: the same criterion may also receive probabilities)."""
    if entry.family == BCE:
        return _with_logits_loss(entry, facts)
    sigmoid = entry.value.origin
    if entry.value.kind is not Kind.SIGMOID_PROBS or not isinstance(sigmoid, cst.Call):
        return None
    if facts.names.qualname(sigmoid.func) in SIGMOID_LAYERS:
        return removed_last_layer(sigmoid, facts, "sigmoid")
    return dropped_activation(sigmoid, entry_argument(entry), entry_function(entry, facts), loss_arguments,
                              SIGMOID_FUNCTIONS, "sigmoid", facts, "sigmoid")


def _with_logits_loss(entry: LossInput, facts: FileFacts) -> Fix | None:
    node = entry.node
    if entry.helper is not None or not isinstance(node, cst.Call):
        return None
    event = next((call for call in facts.dataflow.calls() if call.node is node), None)
    criterion = event.callee.origin if event is not None and event.callee.kind is Kind.LOSS_FN else None
    if isinstance(node.func, cst.Call):
        criterion = node.func  # nn.BCELoss()(logits, y)
    target = criterion if criterion is not None else node  # F.binary_cross_entropy(logits, y)
    renamed = renamed_function_or_layer(target, WITH_LOGITS, facts)
    if renamed is None:
        return None
    return unsafe_fix("use the loss that takes logits", Replace(target, renamed))


def check(facts: FileFacts) -> Iterator[Report]:
    found = [(entry, message) for entry in facts.loss_inputs
             if (message := _MISMATCHES.get((entry.family, entry.value.kind))) is not None]
    loss_arguments = [argument for entry, _ in found if (argument := entry_argument(entry)) is not None]
    for entry, message in found:
        yield Report(entry.node, message.format(producer=entry.value.producer, loss=entry.loss + entry.through(facts.where)),
                     partial(_fix, entry, loss_arguments, facts), entry.related, entry.related_elsewhere)


RULE = Rule(
    code="NN203",
    name="sigmoid-into-bce-with-logits",
    severity=Severity.ERROR,
    summary="Sigmoid output reaches BCEWithLogitsLoss (double sigmoid), or raw logits reach BCELoss.",
    check=check,
    triggers=("binary_cross_entropy", "BCEWithLogitsLoss", "BCELoss", "Loss"),
    fixes=(Applicability.SAFE, Applicability.UNSAFE),
)
