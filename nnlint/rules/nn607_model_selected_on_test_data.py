"""NN607: the test split chooses the checkpoint, the epoch or when to stop, and is then reported."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for selection in facts.data_splits.test_selections():
        yield Report(
            selection.node,
            f"{selection.metric} is computed on the test split and {selection.how}: the model is selected on the "
            "test data, so its test score is optimistic; select on a validation split and report the test "
            "score of the selected model once",
        )


RULE = Rule(
    code="NN607",
    name="model-selected-on-test-data",
    severity=Severity.WARNING,
    summary="The best checkpoint, epoch or early stop is chosen by a metric on the test split.",
    check=check,
    triggers=("test", "Test"),
)
