"""NN304: a running total of loss tensors (`total += loss`) keeps every step's graph alive."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.dataflow import AccumulateEvent, CallEvent, Event, added_names, backpropagated
from nnlint.facts.syntax import dotted_name
from nnlint.facts.training import Effect, TrainingFacts
from nnlint.facts.values import Kind
from nnlint.rules import Report, Rule


def _names_in(expr: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        name = dotted_name(node) if isinstance(node, cst.BaseExpression) else None
        if name is not None:
            names.add(name)
            names.add(name.split(".")[0])
        else:
            stack.extend(node.children)
    return names


def _backward_events(events: list[Event]) -> list[tuple[int, CallEvent, set[str]]]:
    """(position, event, names in the backpropagated expression) for each `.backward()` call."""
    found = []
    for position, event in enumerate(events):
        if isinstance(event, CallEvent) and event.method == "backward" and event.qualname is None:
            found.append((position, event, _names_in(backpropagated(event.node))))
    return found


def _runs_across_training_iterations(event: AccumulateEvent, training: TrainingFacts) -> bool:
    """The total outlives an iteration of a loop whose body (helpers included) backpropagates."""
    for node in reversed(event.loops):
        if node in event.bound_in:
            return False
        loop = training.loop(node)
        if loop is not None and loop.has(Effect.BACKWARD):
            return True
    return False


def _accumulates_a_graph(event: AccumulateEvent, position: int,
                         backwards: list[tuple[int, CallEvent, set[str]]]) -> bool:
    if any(value.kind is Kind.LOSS for value in (event.value, *event.operands)):
        return True  # a loss function's output, or the very tensor backward() ran on
    added = set(added_names(event.added)) - {event.target} if event.added is not None else set()
    # `total += loss` before `loss.backward()` in the same iteration.
    return any(later > position and names & added for later, _, names in backwards)


def check(facts: FileFacts) -> Iterator[Report]:
    for events in facts.dataflow.function_events.values():
        if not any(isinstance(event, AccumulateEvent) for event in events):
            continue
        backwards = _backward_events(events)
        backpropagated_names = set().union(*(names for _, _, names in backwards))
        for position, event in enumerate(events):
            if not isinstance(event, AccumulateEvent) or event.no_grad or not event.loops:
                continue
            if event.target in backpropagated_names or event.target.split(".")[0] in backpropagated_names:
                continue  # a sum of losses built to be backpropagated
            if not _runs_across_training_iterations(event, facts.training) or \
                    not _accumulates_a_graph(event, position, backwards):
                continue
            how = "appended" if isinstance(event.node, cst.Call) else "added"
            yield Report(
                event.node,
                f"a loss tensor is {how} to `{event.target}` across iterations: it keeps every step's autograd "
                "graph alive and memory grows each step; accumulate `loss.item()` or `loss.detach()`",
            )


RULE = Rule(
    code="NN304",
    name="loss-accumulated-with-graph",
    severity=Severity.WARNING,
    summary="A loss tensor is summed or appended across iterations instead of loss.item() / loss.detach().",
    check=check,
    triggers=("backward",),
)
