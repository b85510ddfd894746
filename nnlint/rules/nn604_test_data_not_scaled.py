"""NN604: the model is trained on scaled data, but evaluated on test data that was never scaled."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts import data_api as api
from nnlint.facts.data_splits import expression_text
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for evaluation, training in facts.data_splits.unscaled_evaluations():
        scaler = training.data.basis.producer if training.data.basis is not None else "a scaler"
        data = expression_text(evaluation.data_expr) if evaluation.data_expr is not None else "the data"
        yield Report(
            evaluation.event.node,
            f"{evaluation.model_name} is trained on data scaled by {scaler}, but the "
            f"{api.describe(evaluation.data.detail)} data {data} reaches it unscaled: transform it with the "
            "scaler fitted on the training split",
        )


RULE = Rule(
    code="NN604",
    name="test-data-not-scaled",
    severity=Severity.ERROR,
    summary="The training split is scaled but the test split reaches the model untransformed.",
    check=check,
    triggers=("transform", "Normalize", "mean", "std", "scale", "/"),
)
