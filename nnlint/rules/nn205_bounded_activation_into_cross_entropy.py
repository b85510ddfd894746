"""NN205: the output of ReLU, Tanh, Softplus or Sigmoid used as the logits of cross-entropy."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.torch_api import BOUNDED_ACTIVATIONS, CROSS_ENTROPY
from nnlint.facts.core.values import Kind
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for entry in facts.loss_inputs:
        scores = entry.value
        if entry.family == CROSS_ENTROPY and scores.kind in (Kind.ACTIVATED, Kind.SIGMOID_PROBS):
            yield Report(
                entry.node,
                f"the logits of {entry.loss}{entry.through(facts.where)} come from {scores.producer}, whose output "
                f"{_confinement(scores.detail or 'sigmoid')}; pass the last Linear layer's raw output instead",
                related=entry.related,
                elsewhere=entry.related_elsewhere,
            )


def _confinement(activation: str) -> str:
    if activation in BOUNDED_ACTIVATIONS:
        return (f"lies in {BOUNDED_ACTIVATIONS[activation]}: softmax over such scores can never be confident, "
                "so the loss stays high")
    return ("cannot go negative, and gives (almost) no gradient where its input is negative: the scores of the "
            "classes to reject get stuck at 0 and training stalls")


RULE = Rule(
    code="NN205",
    name="bounded-activation-into-cross-entropy",
    severity=Severity.ERROR,
    summary="ReLU / Sigmoid / Tanh / Softplus output is used as the logits of CrossEntropyLoss / F.cross_entropy.",
    check=check,
    triggers=("cross_entropy", "CrossEntropyLoss", "Loss"),
)
