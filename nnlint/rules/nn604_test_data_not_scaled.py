"""NN604: the model is trained on scaled data, but evaluated on test data that was never scaled."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.data.data_splits import describe_scaling, expression_text
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for evaluation, training in facts.data_splits.unscaled_evaluations():
        scaling = describe_scaling(training.data.basis)
        data = expression_text(evaluation.data_expr) if evaluation.data_expr is not None else "the data"
        yield Report(
            evaluation.event.node,
            f"{evaluation.model_name} is trained on data scaled with {scaling}, but the held-out data {data} "
            "reaches it unscaled: apply the same scaling, fitted on the training split, to every split",
        )


RULE = Rule(
    code="NN604",
    name="test-data-not-scaled",
    severity=Severity.ERROR,
    summary="The training split is scaled but the test split reaches the model untransformed.",
    check=check,
    triggers=("transform", "Normalize", "mean", "std", "scale", "/"),
)
