"""NN204: `torch.log(softmax(x))`: -inf and NaN when a probability underflows; use log_softmax."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.torch_api import LOG_FUNCTIONS
from nnlint.facts.values import Kind
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for call in facts.dataflow.calls():
        if call.qualname in LOG_FUNCTIONS:
            probabilities = call.arg(0, "input")
        elif call.qualname is None and call.method == "log" and not call.args and call.receiver is not None:
            probabilities = call.receiver
        else:
            continue
        if probabilities.kind is Kind.PROBS:
            yield Report(
                call.node,
                f"log of softmax output ({probabilities.producer}): a probability that underflows to 0 gives "
                "-inf and NaN gradients; use log_softmax, which computes the same values stably",
            )


RULE = Rule(
    code="NN204",
    name="log-of-softmax",
    severity=Severity.WARNING,
    summary="torch.log(softmax(x)) or softmax(x).log(): unstable; use log_softmax.",
    check=check,
    triggers=("log",),
)
