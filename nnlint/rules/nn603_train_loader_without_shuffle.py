"""NN603: a training DataLoader that never shuffles (no shuffle=True, no sampler)."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for loader in facts.loaders.loaders:
        if loader.training_reason is None or not loader.never_shuffles:
            continue
        setting = "shuffle=False" if loader.shuffle == "false" else "no shuffle=True and no sampler"
        yield Report(
            loader.node,
            f"this DataLoader feeds training ({loader.training_reason}) but has {setting}: every epoch "
            "sees the batches in the same order; pass shuffle=True or a sampler",
        )


RULE = Rule(
    code="NN603",
    name="train-loader-without-shuffle",
    severity=Severity.WARNING,
    summary="A training DataLoader has neither shuffle=True nor a sampler.",
    check=check,
    triggers=("DataLoader",),
)
