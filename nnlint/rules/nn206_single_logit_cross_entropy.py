"""NN206: cross-entropy over scores of a single class: softmax over one class is 1, the loss is 0."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.torch_api import CROSS_ENTROPY
from nnlint.facts.core.values import Kind
from nnlint.facts.pytorch.semantics import ONE_CLASS
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for entry in facts.loss_inputs:
        scores = entry.value
        if entry.family == CROSS_ENTROPY and scores.kind is Kind.LOGITS and scores.detail == ONE_CLASS:
            yield Report(
                entry.node,
                f"{entry.loss}{entry.through(facts.where)} gets the scores of a single class ({scores.producer}): softmax over one "
                "class is always 1, so the loss is always 0 and nothing trains; for a binary task use "
                "BCEWithLogitsLoss on the single logit, or two outputs with CrossEntropyLoss",
                related=entry.related,
            )


RULE = Rule(
    code="NN206",
    name="single-logit-cross-entropy",
    severity=Severity.ERROR,
    summary="CrossEntropyLoss / F.cross_entropy on a model output with one class: the loss is identically 0.",
    check=check,
    triggers=("cross_entropy", "CrossEntropyLoss", "Loss"),
)
