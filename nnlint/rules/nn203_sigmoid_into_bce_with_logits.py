"""NN203: sigmoid output into BCEWithLogitsLoss (a double sigmoid), or raw logits into BCELoss."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.torch_api import BCE, BCE_WITH_LOGITS
from nnlint.facts.values import Kind
from nnlint.rules import Report, Rule

_MISMATCHES = {
    (BCE_WITH_LOGITS, Kind.SIGMOID_PROBS): "sigmoid output ({producer}) is passed to {loss}, which applies the "
                                           "sigmoid itself: pass the raw logits",
    (BCE_WITH_LOGITS, Kind.PROBS): "softmax output ({producer}) is passed to {loss}, which applies a sigmoid "
                                   "itself: pass the raw logits",
    (BCE, Kind.LOGITS): "raw logits ({producer}) are passed to {loss}, which expects probabilities in [0, 1]: "
                        "use BCEWithLogitsLoss on the logits",
}


def check(facts: FileFacts) -> Iterator[Report]:
    for entry in facts.loss_inputs:
        message = _MISMATCHES.get((entry.family, entry.value.kind))
        if message is not None:
            yield Report(entry.node, message.format(producer=entry.value.producer, loss=entry.loss + entry.through))


RULE = Rule(
    code="NN203",
    name="sigmoid-into-bce-with-logits",
    severity=Severity.ERROR,
    summary="Sigmoid output reaches BCEWithLogitsLoss (double sigmoid), or raw logits reach BCELoss.",
    check=check,
    triggers=("binary_cross_entropy", "BCEWithLogitsLoss", "BCELoss", "Loss"),
)
