"""NN402: model.eval() inside the epoch loop, never undone before the next training step."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for left_on in facts.modes.eval_left_on.values():
        yield Report(
            left_on.eval_call,
            f"`{left_on.model}` is switched to eval mode here and never back: from the next iteration on it "
            f"trains with Dropout off and BatchNorm statistics frozen; call {left_on.model}.train() before "
            f"the training steps",
        )


RULE = Rule(
    code="NN402",
    name="missing-train-after-eval",
    severity=Severity.ERROR,
    summary="model.eval() in the epoch loop is never undone by model.train() before the next training step.",
    check=check,
    triggers=(".eval(", "train(False", "train(mode=False"),
)
