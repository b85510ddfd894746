"""NN303: a training loop that calls backward() but never steps the optimizer."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.facts.core.values import Kind
from nnlint.rules import Report, Rule

# Any of these means the gradients are used: by an optimizer, possibly one nnlint cannot see, or by hand.
_USES_GRADIENTS = frozenset({Effect.STEP, Effect.MAYBE_STEP, Effect.GRAD_READ})


def _builds_optimizer(facts: FileFacts, function_node: object) -> bool:
    return any(
        isinstance(event, CallEvent) and event.result.kind is Kind.OPTIMIZER and event.result.origin is event.node
        for event in facts.dataflow.function_events.get(function_node, [])
    )


def _expects_a_step(trace: list[Action], backward: Action, builds_optimizer: bool) -> bool:
    """Evidence that an optimizer is meant to train here: one is built, zeroed in the loop, or scheduled."""
    outer = backward.loops[0]
    return builds_optimizer or any(
        (action.effect is Effect.ZERO_GRAD and action.on_optimizer and outer in action.loops)
        or action.effect is Effect.SCHEDULER_STEP
        for action in trace
    )


def check(facts: FileFacts) -> Iterator[Report]:
    for function_node, trace in facts.training.traces():
        if any(action.effect in _USES_GRADIENTS for action in trace):
            continue
        builds_optimizer = _builds_optimizer(facts, function_node)
        for backward in trace:
            if backward.effect is Effect.BACKWARD and backward.loops and _expects_a_step(
                    trace, backward, builds_optimizer):
                yield Report(
                    backward.node,
                    "backward() computes gradients in this training loop but no optimizer.step() applies them: "
                    "the weights never change; call optimizer.step() after backward()",
                )


RULE = Rule(
    code="NN303",
    name="missing-optimizer-step",
    severity=Severity.ERROR,
    summary="A training loop calls backward() but never optimizer.step(): the weights never change.",
    check=check,
    triggers=("backward",),
)
