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
    for call in facts.dataflow.calls():
        if call.loss_family != NLL:
            continue
        scores = call.arg(0, "input")
        if scores.kind in _WHY:
            yield Report(call.node, _WHY[scores.kind].format(producer=scores.producer, loss=call.result.producer))


RULE = Rule(
    code="NN202",
    name="nll-loss-without-log-softmax",
    severity=Severity.ERROR,
    summary="NLLLoss / F.nll_loss receives logits or probabilities instead of log-probabilities.",
    check=check,
    triggers=("nll_loss", "NLLLoss", "Loss"),
)
