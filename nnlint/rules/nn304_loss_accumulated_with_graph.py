"""NN304: a running total of loss tensors (`total += loss`) keeps every step's graph alive."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import AccumulateEvent, CallEvent, Event, added_names, added_terms
from nnlint.facts.core.syntax import descendants, dotted_name
from nnlint.facts.pytorch.training import Effect, TrainingFacts
from nnlint.facts.core.values import Kind
from nnlint.fixes import Fix, Replace, safe_fix
from nnlint.fixes.build import method_call
from nnlint.rules import Report, Rule
from nnlint.facts.pytorch.semantics import backpropagated, grad_disabled

# Tensor methods: a total read through one of them must stay a tensor (`total.item()` later).
TENSOR_METHODS = frozenset({"item", "detach", "cpu", "cuda", "to", "numpy", "tolist", "backward", "float",
                            "double", "half", "clone", "size", "dim", "numel", "shape", "device", "dtype"})
TENSOR_COLLECTORS = frozenset({"torch.stack", "torch.cat", "torch.concat", "torch.vstack", "torch.hstack"})


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


def _loss_names(event: AccumulateEvent, position: int, backwards: list[tuple[int, CallEvent, set[str]]]) -> set[str]:
    names = [name for name in added_names(event.added) if name != event.target] if event.added is not None else []
    losses = {name for name, value in zip(names, event.operands) if value.kind is Kind.LOSS}
    later = set().union(*(found for at, _, found in backwards if at > position))
    return losses | (set(names) & later)


def _read_as_tensor(target: str, function: cst.FunctionDef | None, facts: FileFacts) -> bool:
    """The total is read later through a tensor method or stacked into a tensor: it must stay one."""
    if function is None:
        return True
    for node in descendants(function):
        if isinstance(node, cst.Attribute) and node.attr.value in TENSOR_METHODS and target in _names_in(node.value):
            return True
        if isinstance(node, cst.Call) and facts.names.qualname(node.func) in TENSOR_COLLECTORS and \
                any(target in _names_in(arg.value) for arg in node.args):
            return True
    return False


def _fix(event: AccumulateEvent, position: int, backwards: list[tuple[int, CallEvent, set[str]]],
         facts: FileFacts) -> Fix | None:
    """Each loss term added becomes `loss.item()`, a float without a graph; `loss.detach()` where
    the total is later read as a tensor (`total.item()`, `torch.stack(history)`)."""
    if event.added is None:
        return None
    terms = list(added_terms(event.added))
    losses = _loss_names(event, position, backwards)
    wrapped = [term for term in terms if dotted_name(term) in losses]
    if not wrapped and len(terms) == 1 and event.value.kind is Kind.LOSS:
        wrapped = terms  # `total += criterion(out, y)`
    if not wrapped:
        return None
    method = "detach" if _read_as_tensor(event.target, event.function.node, facts) else "item"
    edits = tuple(Replace(term, method_call(term, method)) for term in wrapped)
    return safe_fix(f"accumulate {dotted_name(wrapped[0]) or 'the loss'}.{method}()", *edits)


def check(facts: FileFacts) -> Iterator[Report]:
    for events in facts.dataflow.function_events.values():
        if not any(isinstance(event, AccumulateEvent) for event in events):
            continue
        backwards = _backward_events(events)
        backpropagated_names = set().union(*(names for _, _, names in backwards))
        for position, event in enumerate(events):
            if not isinstance(event, AccumulateEvent) or grad_disabled(event) or not event.loops:
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
                partial(_fix, event, position, backwards, facts),
            )


RULE = Rule(
    code="NN304",
    name="loss-accumulated-with-graph",
    severity=Severity.WARNING,
    summary="A loss tensor is summed or appended across iterations instead of loss.item() / loss.detach().",
    check=check,
    triggers=("backward",),
    fixes=(Applicability.SAFE,),
)
