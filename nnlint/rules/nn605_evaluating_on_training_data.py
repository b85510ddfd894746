"""NN605: an evaluation meant for held-out data is fed the training split."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for evaluation in facts.data_splits.training_data_evaluations():
        why, related = evaluation.why, ()
        if evaluation.helper is not None and evaluation.inner is not None:
            where = facts.where(evaluation.inner)
            why += f" in {evaluation.helper}()" + (f", {where}" if where else "")
            related = ((evaluation.inner, f"{evaluation.helper}() evaluates what it is passed here"),)
        yield Report(
            evaluation.node,
            f"this evaluation is meant for held-out data but is fed the training split ({why}): the score "
            "measures memorization, not generalization; evaluate on the validation or test split",
            related=related,
        )


RULE = Rule(
    code="NN605",
    name="evaluating-on-training-data",
    severity=Severity.ERROR,
    summary="The evaluation step (predict, score, a validation loop) is fed the training split.",
    check=check,
    triggers=("train", "Train"),
)
