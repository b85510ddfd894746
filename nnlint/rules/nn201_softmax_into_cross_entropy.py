"""NN201: probabilities from softmax fed to cross-entropy, which applies log_softmax itself."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.torch_api import CROSS_ENTROPY
from nnlint.facts.values import Kind
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for entry in facts.loss_inputs:
        if entry.family == CROSS_ENTROPY and entry.value.kind is Kind.PROBS:
            yield Report(
                entry.node,
                f"probabilities from {entry.value.producer} reach {entry.loss}{entry.through}, which applies "
                "log_softmax itself: pass the raw logits",
            )


RULE = Rule(
    code="NN201",
    name="softmax-into-cross-entropy",
    severity=Severity.ERROR,
    summary="Probabilities from softmax reach CrossEntropyLoss / F.cross_entropy, which expects logits.",
    check=check,
    triggers=("cross_entropy", "CrossEntropyLoss", "Loss"),
)
