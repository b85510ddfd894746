"""NN602: inputs and labels shuffled by two different random orders."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for pair in facts.shuffling.independent_pairs:
        yield Report(
            pair.second.node,
            f"{pair.second.target} is shuffled independently of {pair.first.target}: the two get different "
            "random orders and no longer line up; shuffle them with one shared permutation "
            "(idx = np.random.permutation(n); X, y = X[idx], y[idx]) or sklearn.utils.shuffle(X, y)",
        )


RULE = Rule(
    code="NN602",
    name="shuffled-separately",
    severity=Severity.ERROR,
    summary="Inputs and labels are shuffled independently, so samples no longer match their labels.",
    check=check,
    triggers=("shuffle", "permutation", "randperm", "sample", "choice"),
)
