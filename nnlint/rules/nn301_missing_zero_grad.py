"""NN301: a training loop that steps the optimizer but never zeroes the gradients."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.training import Effect
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    training = facts.training
    for loop in training.loops:
        if not (loop.has(Effect.BACKWARD) and loop.has(Effect.STEP)) or loop.has(Effect.ZERO_GRAD):
            continue
        inner_trains = any(
            inner.has(Effect.BACKWARD) and inner.has(Effect.STEP)
            for inner in map(training.loop, loop.inner_loops) if inner is not None
        )
        if inner_trains:
            continue
        backward = next(action for action in loop.actions if action.effect is Effect.BACKWARD)
        yield Report(
            backward.node,
            "gradients accumulate across iterations: this loop calls backward() and step() but never "
            "zero_grad(); call optimizer.zero_grad() once per step",
        )


RULE = Rule(
    code="NN301",
    name="missing-zero-grad",
    severity=Severity.ERROR,
    summary="A training loop calls backward() and optimizer.step() but never zeroes the gradients.",
    check=check,
    triggers=("backward",),
)
