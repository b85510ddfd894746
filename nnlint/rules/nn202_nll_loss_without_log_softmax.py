"""NN202: NLLLoss given raw logits or softmax probabilities instead of log-probabilities."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.torch_api import NLL
from nnlint.facts.values import Kind
from nnlint.rules import Report, Rule

_WHY = {
    Kind.LOGITS: "raw logits ({producer}) are passed to {loss}, which expects log-probabilities: "
                 "apply log_softmax first, or use CrossEntropyLoss on the logits",
    Kind.PROBS: "softmax probabilities ({producer}) are passed to {loss}, which expects log-probabilities: "
                "use log_softmax instead of softmax",
}


def check(facts: FileFacts) -> Iterator[Report]:
    for entry in facts.loss_inputs:
        if entry.family == NLL and entry.value.kind in _WHY:
            yield Report(entry.node, _WHY[entry.value.kind].format(producer=entry.value.producer,
                                                                   loss=entry.loss + entry.through))


RULE = Rule(
    code="NN202",
    name="nll-loss-without-log-softmax",
    severity=Severity.ERROR,
    summary="NLLLoss / F.nll_loss receives logits or probabilities instead of log-probabilities.",
    check=check,
    triggers=("nll_loss", "NLLLoss", "Loss"),
)
