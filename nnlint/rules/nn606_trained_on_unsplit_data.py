"""NN606: after a train/test split the model is trained on the unsplit data, then scored on a held-out part."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.data.data_splits import expression_text
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    splits = facts.data_splits
    for node, split, evaluated in (*splits.unsplit_trainings(), *splits.unsplit_training_loaders()):
        yield Report(
            node,
            f"this trains on the data {split.name} divided, not on its training part, and the model is then "
            f"evaluated on a held-out part ({expression_text(evaluated)}): those rows were in the "
            "training set, so the score is inflated; train on the training split",
        )


RULE = Rule(
    code="NN606",
    name="trained-on-unsplit-data",
    severity=Severity.ERROR,
    summary="The model is trained on the data before the train/test split and evaluated on its held-out part.",
    check=check,
    triggers=("split",),
)
